/**
 * Every error class the service raises on purpose, by a stable code (as Fastify's own are FST_ERR_*), with its class
 * name. Logs, tests and the engine threads' messages carry the code, so an error keeps its meaning across the
 * worker boundary; the message is for people and may change.
 */
export const errorNames = {
  // Requests refused or abandoned (src/errors/rejections.ts): SENTIMENT_ + the reason, upper case.
  SENTIMENT_QUEUE_FULL: 'QueueFullError',
  SENTIMENT_CLIENT_QUEUE_FULL: 'ClientQueueFullError',
  SENTIMENT_UPLOADS_FULL: 'UploadsFullError',
  // Answered by Node itself, so no error object of ours carries it: the code names the reason for the registry's
  // completeness, and there is no class of this name.
  SENTIMENT_BODY_TIMEOUT: 'BodyTimeoutError',
  // Requests the client got wrong (4xx), before any rejection: the body, the text field, TEI's own validation.
  SENTIMENT_BODY_REFUSED: 'BodyRefusedError',
  SENTIMENT_MISSING_TEXT: 'MissingTextError',
  SENTIMENT_TEI_VALIDATION: 'TeiValidationError',
  SENTIMENT_DEADLINE: 'DeadlineExceededError',
  SENTIMENT_CLIENT_GONE: 'ClientGoneError',
  SENTIMENT_DRAINING: 'DrainingError',
  SENTIMENT_TOO_LONG: 'TextTooLongError',
  SENTIMENT_TOO_MANY_TEXTS: 'TooManyTextsError',
  SENTIMENT_ENGINE_UNAVAILABLE: 'EngineUnavailableError',
  SENTIMENT_OPEN_INFERENCE: 'OpenInferenceError',
  SENTIMENT_UNAUTHORIZED: 'UnauthorizedError',
  // Start-up: settings, model files, devices.
  SENTIMENT_CONFIG: 'ConfigError',
  SENTIMENT_MODEL_DIR: 'ModelDirError',
  SENTIMENT_SAFETENSORS: 'SafetensorsError',
  SENTIMENT_ENCODER_CONFIG: 'EncoderConfigError',
  SENTIMENT_DEVICE_UNAVAILABLE: 'DeviceUnavailableError',
  SENTIMENT_TFJS_BACKEND_UNAVAILABLE: 'TfjsBackendUnavailableError',
  SENTIMENT_HUB: 'HubError',
  SENTIMENT_HUB_UNREACHABLE: 'HubUnreachableError',
  SENTIMENT_REMOTE_ENGINE: 'RemoteEngineError',
  // Running.
  SENTIMENT_WORKER_THREAD_EXITED: 'WorkerThreadExitedError',
  SENTIMENT_INFERENCE_FAILED: 'InferenceFailedError',
  // The batch job and its command.
  SENTIMENT_BATCH_JOB: 'BatchJobError',
  SENTIMENT_MALFORMED_RECORD: 'MalformedRecordError',
  SENTIMENT_INPUT_FORMAT: 'InputFormatError',
  SENTIMENT_OUTPUT_MISMATCH: 'OutputMismatchError',
  SENTIMENT_OUTPUT_WRITE: 'OutputWriteError',
  SENTIMENT_USAGE: 'UsageError',
  SENTIMENT_OBJECT_STORE: 'ObjectStoreError',
  SENTIMENT_TRUNCATED_INPUT: 'TruncatedInputError',
  SENTIMENT_PARTS_INCOMPLETE: 'PartsIncompleteError',
} as const;

export type ErrorCode = keyof typeof errorNames;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorNames, value);
}

/** The base of the service's own errors: a registered code, and the class name that goes with it. */
export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = errorNames[code];
  }
}

/** An error as a worker thread posts it: structured clone keeps neither its class nor its code. */
export interface PostedError {
  code: ErrorCode | undefined;
  name: string;
  message: string;
}

export function postedError(error: unknown): PostedError {
  const { name, message } = error instanceof Error ? error : new Error(String(error));
  return { code: error instanceof ServiceError ? error.code : undefined, name, message };
}
