/**
 * Why a request was refused for its API key; each is a label value of sentiment_auth_failures_total.
 * missing: no Authorization header; malformed: not `Bearer <key>`; invalid: a key that is not (or no longer) accepted.
 */
export const authFailureReasons = ['missing', 'malformed', 'invalid'] as const;
export type AuthFailureReason = (typeof authFailureReasons)[number];
