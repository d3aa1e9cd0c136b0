import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ServiceMetrics } from '../../metrics/metrics.js';

/** One observation of sentiment_http_request_duration_seconds per request, labelled by route pattern, not URL. */
export default fp(async function httpMetrics(app: FastifyInstance, options: { metrics: ServiceMetrics }) {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.httpRequestCompleted(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
  });
});
