import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { outcomeOf, recordError, retryAfterFor, type RejectionCounter } from '../../errors/error-policy.js';
import { InferenceFailedError } from '../../errors/rejections.js';

/**
 * The service's own error shape ({statusCode, error, message}) for /analyze and every route without its own:
 * rejections get their status and Retry-After where retrying helps, server faults (5xx) a plain message and the
 * request id. Bookkeeping is the error policy's (src/errors/error-policy.ts). Other errors (Fastify's 4xx) stay
 * Fastify's.
 */
export default fp(async function errorHandler(app: FastifyInstance, options: { metrics: RejectionCounter }) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const outcome = outcomeOf(error);
    if (outcome.kind === 'invalid_request') throw error;
    recordError(error, outcome, options.metrics, request.log);
    const retryAfter = retryAfterFor(outcome.statusCode);
    if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
    if (outcome.kind !== 'internal') {
      const { statusCode, message } = outcome;
      return reply.code(statusCode).send({ statusCode, error: STATUS_CODES[statusCode], message });
    }
    return reply.code(500).send({
      statusCode: 500,
      error: STATUS_CODES[500],
      message: error instanceof InferenceFailedError ? 'inference failed' : 'internal server error',
      requestId: request.id,
    });
  });
});
