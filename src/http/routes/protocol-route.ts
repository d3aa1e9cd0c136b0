import { performance } from 'node:perf_hooks';
import type { FastifyReply } from 'fastify';
import type { Classifier, ClassifyOptions } from '../../inference/classifier.js';
import type { Prediction } from '../../inference/postprocess.js';
import type { ServiceMetrics } from '../../metrics/metrics.js';
import { DrainingError, TooManyTextsError } from '../../errors/rejections.js';

/** What every client-protocol route (Inference API, TEI, Open Inference Protocol) shares with /analyze. */
export interface ProtocolRouteOptions {
  classifier: Classifier;
  metrics: ServiceMetrics;
  maxTextsPerRequest: number;
  requestTimeoutMs: number;
  /** How long a request may wait, before its body is read, for room in a full queue (ADMISSION_WAIT_MS). */
  admissionWaitMs: number;
  maxQueue: number;
  isDraining(): boolean;
}

/**
 * onRequest hook for routes that take new work, as /analyze's: refused once shutdown began, and held before the body
 * is read while the queue is full (then let in or refused with 429).
 */
export function admitBeforeBody(
  options: Pick<ProtocolRouteOptions, 'isDraining' | 'classifier' | 'admissionWaitMs' | 'maxQueue'>,
): () => Promise<void> {
  return async () => {
    if (options.isDraining()) throw new DrainingError();
    await options.classifier.admission.waitForRoom(options.admissionWaitMs, options.maxQueue);
  };
}

/**
 * The one classify call behind every protocol: the same per-request text limit, REQUEST_TIMEOUT_MS deadline and
 * client-gone cancellation as /analyze.
 */
export async function classifyForRequest(
  options: ProtocolRouteOptions,
  reply: FastifyReply,
  texts: readonly string[],
  classifyOptions: Omit<ClassifyOptions, 'deadline' | 'signal'>,
): Promise<Prediction[][]> {
  if (texts.length > options.maxTextsPerRequest) throw new TooManyTextsError(texts.length, options.maxTextsPerRequest);
  // The client's going away shows as the response closing before it was written; its texts are then dropped.
  const clientGone = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) clientGone.abort();
  };
  reply.raw.once('close', onClose);
  try {
    return await options.classifier.classify(texts, {
      ...classifyOptions,
      timing: reply.request.timing,
      deadline: performance.now() - reply.elapsedTime + options.requestTimeoutMs,
      signal: clientGone.signal,
    });
  } finally {
    reply.raw.off('close', onClose);
  }
}
