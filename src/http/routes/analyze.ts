import type { FastifyInstance } from 'fastify';
import { ServiceError } from '../../errors/error-codes.js';
import type { Inference } from '../../inference/inference.js';
import { AnalyzeBody, AnalyzeResponse } from '../schemas/analyze.js';
import { ErrorResponse } from '../schemas/error.js';
import { admitBeforeBody, classifyForRequest } from './protocol-route.js';

class MissingTextError extends ServiceError {
  readonly statusCode = 400;
  constructor(message: string) {
    super('SENTIMENT_MISSING_TEXT', message);
  }
}

export default async function analyzeRoute(app: FastifyInstance, { inference }: { inference: Inference }) {
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
      onRequest: admitBeforeBody(inference),
    },
    async (request, reply) => {
      const body = request.body;
      const input = body.text ?? body.inputs;
      if (input === undefined) throw new MissingTextError("body must have property 'text' (or its alias 'inputs')");
      if (body.text !== undefined && body.inputs !== undefined) {
        throw new MissingTextError("body must have only one of 'text' and 'inputs'");
      }
      const single = typeof input === 'string';
      const predictions = await classifyForRequest(inference, reply, single ? [input] : input, {
        truncate: body.truncate ?? true,
        topK: body.top_k ?? 1,
      });
      if (body.top_k === undefined) return predictions.map((best) => best[0]);
      return single ? predictions[0] : predictions;
    },
  );
}
