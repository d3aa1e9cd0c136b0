import type { FastifyInstance } from 'fastify';
import type { ServiceMetrics } from '../../metrics/metrics.js';

export default async function metricsRoute(app: FastifyInstance, options: { metrics: ServiceMetrics }) {
  const { registry } = options.metrics;
  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics (text exposition format)', produces: [registry.contentType] } },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
}
