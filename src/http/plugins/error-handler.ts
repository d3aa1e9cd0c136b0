import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ServiceMetrics } from '../../metrics/metrics.js';
import {
  InferenceFailedError,
  RejectionError,
  rejectionStatus,
  type RejectionReason,
} from '../../errors/rejections.js';

/** Shared with the protocol routes' own error shapes (protocol-errors.ts). */
export const statusOf: Record<RejectionReason, number> = rejectionStatus;

/** Seconds a refused client should wait; overload here is short-lived (a queue drains in well under a second). */
export const retryAfterSeconds = '1';

/**
 * Rejections get their status, Retry-After where retrying helps, and a count by reason. Server faults (5xx) get a
 * plain message and the request id, their details (which may name graph nodes, paths, indices) only in the log.
 * Other errors (Fastify's 4xx) stay Fastify's.
 */
export default fp(async function errorHandler(app: FastifyInstance, options: { metrics: ServiceMetrics }) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof RejectionError) {
      options.metrics.rejected(error.reason);
      const statusCode = statusOf[error.reason];
      if (error.reason === 'client_gone') request.log.info('client disconnected before its answer was ready');
      if (statusCode === 429 || statusCode === 503) reply.header('retry-after', retryAfterSeconds);
      return reply.code(statusCode).send({ statusCode, error: STATUS_CODES[statusCode], message: error.message });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) throw error;
    const inference = error instanceof InferenceFailedError;
    request.log.error({ err: inference ? error.cause : error }, inference ? 'inference failed' : 'request failed');
    return reply.code(500).send({
      statusCode: 500,
      error: STATUS_CODES[500],
      message: inference ? 'inference failed' : 'internal server error',
      requestId: request.id,
    });
  });
});
