import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { Classifier } from '../../inference/classifier.js';
import { DrainingError, TooManyTextsError } from '../../errors/rejections.js';
import { AnalyzeBody, AnalyzeResponse } from '../schemas/analyze.js';
import { ErrorResponse } from '../schemas/error.js';

export interface AnalyzeRouteOptions {
  classifier: Classifier;
  maxTextsPerRequest: number;
  requestTimeoutMs: number;
  /** ADMISSION_WAIT_MS: how long a request may wait for room in a full queue; absent: 0, refused at once. */
  admissionWaitMs?: number;
  /** Most requests waiting for room at once (MAX_QUEUE). */
  maxQueue?: number;
  isDraining(): boolean;
}

class MissingTextError extends Error {
  readonly statusCode = 400;
  constructor(message: string) {
    super(message);
    this.name = 'MissingTextError';
  }
}

export default async function analyzeRoute(app: FastifyInstance, options: AnalyzeRouteOptions) {
  const { classifier } = options;
  const errors = Object.fromEntries([400, 413, 415, 422, 429, 500, 503, 504].map((status) => [status, ErrorResponse]));

  app.post<{ Body: AnalyzeBody }>(
    '/analyze',
    {
      config: { inference: true },
      schema: {
        summary: 'Sentiment of one or more texts',
        description:
          'Answers in the shape of Hugging Face pipeline("sentiment-analysis"). Overload answers 429 (queue full) or 503 ' +
          '(shutting down), both with Retry-After; a request not answered within REQUEST_TIMEOUT_MS gets 504.',
        body: AnalyzeBody,
        response: { 200: AnalyzeResponse, ...errors },
      },
      onRequest: async () => {
        // New work after shutdown began goes elsewhere; requests already inside are still answered.
        if (options.isDraining()) throw new DrainingError();
        // A full queue holds the request before its body is read, then lets it in or refuses it (see waitForRoom).
        await classifier.admission.waitForRoom(options.admissionWaitMs ?? 0, options.maxQueue ?? 0);
      },
    },
    async (request, reply) => {
      const body = request.body;
      const input = body.text ?? body.inputs;
      if (input === undefined) throw new MissingTextError("body must have property 'text' (or its alias 'inputs')");
      if (body.text !== undefined && body.inputs !== undefined) {
        throw new MissingTextError("body must have only one of 'text' and 'inputs'");
      }
      const single = typeof input === 'string';
      const texts = single ? [input] : input;
      if (texts.length > options.maxTextsPerRequest)
        throw new TooManyTextsError(texts.length, options.maxTextsPerRequest);

      // The client's going away shows as the response closing before it was written; its texts are then dropped.
      const clientGone = new AbortController();
      const onClose = (): void => {
        if (!reply.raw.writableFinished) clientGone.abort();
      };
      reply.raw.once('close', onClose);
      try {
        const predictions = await classifier.classify(texts, {
          truncate: body.truncate ?? true,
          topK: body.top_k ?? 1,
          deadline: performance.now() - reply.elapsedTime + options.requestTimeoutMs,
          signal: clientGone.signal,
          timing: request.timing,
        });
        if (body.top_k === undefined) return predictions.map((best) => best[0]);
        return single ? predictions[0] : predictions;
      } finally {
        reply.raw.off('close', onClose);
      }
    },
  );
}
