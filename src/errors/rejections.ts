import { ServiceError, type ErrorCode } from './error-codes.js';

/**
 * Why the service refuses or abandons a request: the one list from which the type, the label values of
 * sentiment_rejections_total, the HTTP statuses and the error codes derive.
 */
export const rejectionReasons = [
  'queue_full',
  // One client holds its share of the queue (MAX_QUEUE_PER_CLIENT); others are still let in.
  'client_queue_full',
  'uploads_full',
  'body_timeout',
  'deadline',
  'client_gone',
  'draining',
  'too_long',
  'too_many_texts',
  'engine_unavailable',
] as const;
export type RejectionReason = (typeof rejectionReasons)[number];

/** The HTTP status of each reason, shared by every protocol's error shape. */
export const rejectionStatus = {
  too_many_texts: 413,
  too_long: 422,
  queue_full: 429,
  client_queue_full: 429,
  uploads_full: 429,
  // Answered by Node itself (headers or body not received within BODY_TIMEOUT_MS); counted in app.ts.
  body_timeout: 408,
  draining: 503,
  // The remote model server is unreachable for now; the service recovers by itself when it is back.
  engine_unavailable: 503,
  deadline: 504,
  // Never seen by the client, who has left; recorded in logs as nginx does.
  client_gone: 499,
} as const satisfies Record<RejectionReason, number>;

/** A reason's error code: SENTIMENT_ and the reason in upper case (checked against the registry by the compiler). */
export function rejectionCode<R extends RejectionReason>(reason: R): `SENTIMENT_${Uppercase<R>}` & ErrorCode {
  return `SENTIMENT_${reason.toUpperCase()}` as `SENTIMENT_${Uppercase<R>}` & ErrorCode;
}

export class RejectionError extends ServiceError {
  readonly reason: RejectionReason;

  constructor(reason: RejectionReason, message: string) {
    // No stack trace: a refusal is expected, not a bug, and capturing one is a large share of what a 429 costs
    // under a flood of them.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(rejectionCode(reason), message);
    Error.stackTraceLimit = stackTraceLimit;
    this.reason = reason;
  }
}

export class QueueFullError extends RejectionError {
  /** requested: undefined when the queue is refused before the body is read (no room for even one text). */
  constructor(waiting: number, requested: number | undefined, capacity: number) {
    super(
      'queue_full',
      `server is at capacity: ${waiting} texts waiting, ${requested ?? 'any'} more requested, the queue holds ${capacity}; retry later`,
    );
  }
}

export class ClientQueueFullError extends RejectionError {
  /** requested: undefined when refused before the body is read. */
  constructor(waiting: number, requested: number | undefined, limit: number) {
    super(
      'client_queue_full',
      `this client has ${waiting} texts waiting, ${requested ?? 'any'} more requested, and may have ${limit} waiting at once; retry later`,
    );
  }
}

export class UploadsFullError extends RejectionError {
  constructor(declared: number, limit: number) {
    super(
      'uploads_full',
      `server is at capacity: a body of ${declared} bytes would take the bodies being received past ${limit} bytes; retry later`,
    );
  }
}

export class DeadlineExceededError extends RejectionError {
  constructor() {
    super('deadline', 'the request deadline passed before its texts were processed');
  }
}

export class ClientGoneError extends RejectionError {
  constructor() {
    super('client_gone', 'client disconnected before the answer was ready');
  }
}

export class DrainingError extends RejectionError {
  constructor() {
    super('draining', 'server is shutting down; retry on another instance');
  }
}

export class TooManyTextsError extends RejectionError {
  constructor(count: number, limit: number) {
    super('too_many_texts', `request has ${count} texts; at most ${limit} are allowed per request`);
  }
}

export class EngineUnavailableError extends RejectionError {
  constructor(reason: string) {
    super('engine_unavailable', `the model server is unavailable (${reason}); retry later`);
  }
}

export class TextTooLongError extends RejectionError {
  /** atLeast: only the text's head was tokenized, which already held tokenCount tokens. */
  constructor(textIndex: number, tokenCount: number, atLeast: boolean, maxLength: number) {
    super(
      'too_long',
      `text ${textIndex} has ${atLeast ? 'over ' : ''}${tokenCount} tokens, more than the model's maximum of ${maxLength}; ` +
        'send truncate: true to cut it',
    );
  }
}

/**
 * The engine could not compute a batch. Not a refusal but the server's fault: HTTP answers a plain 500 and the
 * cause (ONNX Runtime's message, which names graph nodes and indices) goes only to the log.
 */
export class InferenceFailedError extends ServiceError {
  constructor(override readonly cause: Error) {
    // The cause's own message: a batch job reports it as it is; HTTP never sends it.
    super('SENTIMENT_INFERENCE_FAILED', cause.message);
  }
}
