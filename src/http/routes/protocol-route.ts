import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RejectionCounter } from '../../errors/error-policy.js';
import type { Inference, InferenceRequest } from '../../inference/inference.js';
import type { Prediction } from '../../inference/postprocess.js';

/** What every inference route (/analyze and the client protocols' routes) is registered with. */
export interface InferenceRouteOptions {
  inference: Inference;
  /** Where the protocol routes' own error handlers count rejections. */
  metrics: RejectionCounter;
}

/**
 * onRequest hook for routes that take new work: the inference call's admission, before the body is read, so a
 * refusal costs neither reading nor parsing it.
 */
export function admitBeforeBody(inference: Inference): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    await inference.admit(request.clientKey);
  };
}

/**
 * The inference call for an HTTP request admitted by admitBeforeBody: REQUEST_TIMEOUT_MS counts from the request's
 * arrival, its timing is the request's, and its texts are dropped if the client goes away.
 */
export async function classifyForRequest(
  inference: Inference,
  reply: FastifyReply,
  texts: readonly string[],
  options: Omit<InferenceRequest, 'receivedAt' | 'admitted' | 'signal' | 'timing' | 'deadline'>,
): Promise<Prediction[][]> {
  // The client's going away shows as the response closing before it was written.
  const clientGone = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) clientGone.abort();
  };
  reply.raw.once('close', onClose);
  try {
    return await inference.classify(texts, {
      ...options,
      admitted: true,
      receivedAt: performance.now() - reply.elapsedTime,
      timing: reply.request.timing,
      client: reply.request.clientKey,
      signal: clientGone.signal,
    });
  } finally {
    reply.raw.off('close', onClose);
  }
}
