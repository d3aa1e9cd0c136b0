import { performance } from 'node:perf_hooks';
import { DrainingError, TooManyTextsError } from '../errors/rejections.js';
import type { ClientKey } from './admission.js';
import type { Classifier, ClassifyOptions } from './classifier.js';
import type { Prediction } from './postprocess.js';

/** The per-request limits every transport shares (their settings: MAX_TEXTS_PER_REQUEST and the rest). */
export interface InferenceLimits {
  maxTextsPerRequest: number;
  /** REQUEST_TIMEOUT_MS, counted from the request's arrival; absent: no deadline (the batch job). */
  requestTimeoutMs?: number;
  /** ADMISSION_WAIT_MS: how long a request may wait for room in a full queue; 0: refused at once. */
  admissionWaitMs: number;
  /** MAX_QUEUE, which also bounds how many requests may wait for room at once. */
  maxQueue: number;
}

export interface InferenceRequest extends Omit<ClassifyOptions, 'deadline'> {
  /** performance.now() when the request arrived, from which REQUEST_TIMEOUT_MS counts; absent: now. */
  receivedAt?: number;
  /** The caller's own deadline (a gRPC call's), a performance.now() instant; the earlier of the two applies. */
  deadline?: number;
  /** admit() already let this request in (HTTP does so before reading the body). */
  admitted?: boolean;
}

/** Whether new work is taken: the one readiness every health endpoint (HTTP, TEI, Open Inference, gRPC) reports. */
export type Readiness = 'ready' | 'draining' | 'engine failed' | 'engine unavailable';

/**
 * The one inference call behind every transport (HTTP routes, gRPC, the batch job), as TEI's `Infer`: admission
 * (with ADMISSION_WAIT_MS's wait), the per-request text limit, the deadline, timing, and the classifier's
 * tokenize -> queue -> engine -> scores. A transport only translates its wire shape to texts and options, and the
 * errors this throws to its own error format (with src/errors/error-policy.ts's bookkeeping).
 */
export class Inference {
  private isDraining = false;

  constructor(
    readonly classifier: Classifier,
    readonly limits: InferenceLimits,
  ) {}

  get draining(): boolean {
    return this.isDraining;
  }

  /** Why the engine (or the tokenizer threads) can no longer work, if so; only a restart helps (liveness fails). */
  get engineFailure(): Error | undefined {
    return this.classifier.failure;
  }

  get readiness(): Readiness {
    if (this.isDraining) return 'draining';
    if (this.engineFailure !== undefined) return 'engine failed';
    // A remote model server away for now: not ready, but alive (the service recovers by itself).
    if (this.classifier.engine.unavailable !== undefined) return 'engine unavailable';
    return 'ready';
  }

  /**
   * Refuses new work from now on and stops waiting for fuller batches; resolves once nothing is queued or running.
   * Requests already admitted are still answered.
   */
  drain(): Promise<void> {
    this.isDraining = true;
    return this.classifier.drain();
  }

  /**
   * The door: refused once shutdown began; while the queue is full, held up to ADMISSION_WAIT_MS for room, then let
   * in or refused (QueueFullError). Undefined when there is room now, so the common case costs no promise.
   */
  admit(client?: ClientKey): Promise<void> | undefined {
    if (this.isDraining) throw new DrainingError();
    return this.classifier.admission.waitForRoom(this.limits.admissionWaitMs, this.limits.maxQueue, client);
  }

  /** Labels for each text, best first; throws the rejections of src/errors/rejections.ts. */
  async classify(texts: readonly string[], request: InferenceRequest): Promise<Prediction[][]> {
    const receivedAt = request.receivedAt ?? performance.now();
    if (request.admitted !== true) await this.admit(request.client);
    const { maxTextsPerRequest, requestTimeoutMs } = this.limits;
    if (texts.length > maxTextsPerRequest) throw new TooManyTextsError(texts.length, maxTextsPerRequest);
    const timeoutDeadline = requestTimeoutMs === undefined ? undefined : receivedAt + requestTimeoutMs;
    const deadline =
      timeoutDeadline === undefined || request.deadline === undefined
        ? (timeoutDeadline ?? request.deadline)
        : Math.min(timeoutDeadline, request.deadline);
    const { receivedAt: _, admitted: __, ...options } = request;
    return this.classifier.classify(texts, { ...options, deadline });
  }
}
