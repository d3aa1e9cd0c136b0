import { STATUS_CODES } from 'node:http';
import { InferenceFailedError, RejectionError, rejectionStatus, type RejectionReason } from './rejections.js';

/**
 * What any error a request can end in means, before a transport puts it in its own shape: a known rejection, a
 * refused API key (401, src/auth/), a request the client got wrong (bad JSON, schema, content type, size;
 * `statusCode` from Fastify or the route), or a fault of the server.
 */
export interface ErrorOutcome {
  kind: RejectionReason | 'unauthorized' | 'invalid_request' | 'internal';
  /** The status the service's own routes answer with (the /analyze mapping). */
  statusCode: number;
  /** For people; a fault's details stay in the log (see recordError). */
  message: string;
  /** Fastify's error code (FST_ERR_VALIDATION: the body did not match the route's schema). */
  code?: string;
}

/** Seconds a refused client should wait; overload here is short-lived (a queue drains in well under a second). */
export const retryAfterSeconds = '1';

/** The Retry-After for an answer's status: only where retrying helps (overload and shutdown). */
export function retryAfterFor(statusCode: number): string | undefined {
  return statusCode === 429 || statusCode === 503 ? retryAfterSeconds : undefined;
}

export function outcomeOf(error: Error): ErrorOutcome {
  if (error instanceof RejectionError)
    return { kind: error.reason, statusCode: rejectionStatus[error.reason], message: error.message };
  const { statusCode, code } = error as Error & { statusCode?: number; code?: string };
  if (statusCode === 401) return { kind: 'unauthorized', statusCode, message: error.message, code };
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return { kind: 'invalid_request', statusCode, message: error.message, code };
  }
  return { kind: 'internal', statusCode: 500, message: STATUS_CODES[500] ?? 'Internal Server Error' };
}

/** Where rejections are counted (sentiment_rejections_total). */
export interface RejectionCounter {
  rejected(reason: RejectionReason): void;
}

/** The slice of a pino logger the bookkeeping writes to (a request's own, so each line carries its id). */
export interface ErrorLog {
  info(message: string): void;
  error(details: object, message: string): void;
}

/**
 * The bookkeeping every transport does for a failed request, whatever shape it answers in: a rejection is
 * counted by reason (a client gone is logged, as nginx logs a 499); a fault is logged with its details, which never
 * go to the client. Client errors (4xx) are the client's and are left to the access log.
 */
export function recordError(error: Error, outcome: ErrorOutcome, counter: RejectionCounter, log: ErrorLog): void {
  if (error instanceof RejectionError) {
    counter.rejected(error.reason);
    if (error.reason === 'client_gone') log.info('client disconnected before its answer was ready');
  } else if (outcome.kind === 'internal') {
    const inference = error instanceof InferenceFailedError;
    log.error({ err: inference ? error.cause : error }, inference ? 'inference failed' : 'request failed');
  }
}
