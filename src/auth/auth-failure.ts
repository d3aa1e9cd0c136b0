import { ServiceError } from '../errors/error-codes.js';
import type { ApiKeyStore } from './api-key-store.js';

/**
 * Why a request was refused for its API key; each is a label value of sentiment_auth_failures_total.
 * missing: no Authorization header; malformed: not `Bearer <key>`; invalid: a key that is not (or no longer) accepted.
 */
export const authFailureReasons = ['missing', 'malformed', 'invalid'] as const;
export type AuthFailureReason = (typeof authFailureReasons)[number];

const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** Why an Authorization value (HTTP header or gRPC metadata) is refused; undefined: it carries an accepted key. */
export function authFailureOf(authorization: string | undefined, keys: ApiKeyStore): AuthFailureReason | undefined {
  if (authorization === undefined || authorization === '') return 'missing';
  const key = bearer.exec(authorization)?.[1];
  if (key === undefined) return 'malformed';
  return keys.accepts(key) ? undefined : 'invalid';
}

/** What the caller is told, per reason (the key itself is never repeated). */
export const authFailureMessages: Record<AuthFailureReason, string> = {
  missing: 'an API key is required: send Authorization: Bearer <key>',
  malformed: 'the Authorization header must be Bearer <key>',
  invalid: 'the API key is not valid',
};

/**
 * A request refused for its API key: 401 on every route, each protocol putting the message in its own error shape.
 * challenge is the WWW-Authenticate value (RFC 6750: a key that was sent but refused is an invalid_token).
 */
export class UnauthorizedError extends ServiceError {
  readonly statusCode = 401;
  readonly challenge: string;

  constructor(readonly reason: AuthFailureReason) {
    super('SENTIMENT_UNAUTHORIZED', authFailureMessages[reason]);
    this.challenge = reason === 'missing' ? 'Bearer' : 'Bearer error="invalid_token"';
  }
}
