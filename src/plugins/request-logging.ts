import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ServiceMetrics } from '../metrics.js';

/**
 * Echoes the request id, and records each request once: one log line (never the body: texts are not logged) and
 * one observation of sentiment_http_request_duration_seconds, labelled by route pattern, not URL.
 */
export default fp(async function requestLogging(app: FastifyInstance, options: { metrics: ServiceMetrics }) {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.httpRequestCompleted(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    request.log.info(
      { method: request.method, url: request.url, statusCode: reply.statusCode, responseTimeMs: reply.elapsedTime },
      'request completed',
    );
  });
});
