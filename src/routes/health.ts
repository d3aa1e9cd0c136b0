import type { FastifyInstance } from 'fastify';
import { HealthResponse, ReadinessResponse } from '../schemas/health.js';

export default async function healthRoutes(app: FastifyInstance, options: { isDraining(): boolean }) {
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness: the process answers', response: { 200: HealthResponse } } },
    async () => ({ status: 'ok' as const }),
  );

  // The app is only built once the model is loaded and warmed up, so the one way to be unready is shutting down.
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: model loaded and warmed up, not shutting down (503 while draining)',
        response: { 200: ReadinessResponse, 503: ReadinessResponse },
      },
    },
    async (_request, reply) => {
      if (options.isDraining()) return reply.code(503).send({ status: 'draining' as const });
      return { status: 'ready' as const };
    },
  );
}
