import type { FastifyInstance } from 'fastify';
import { HealthResponse, ReadinessResponse } from '../schemas/health.js';

interface HealthOptions {
  isDraining(): boolean;
  /** Why the engine can no longer run anything, if it cannot; then only a restart helps. */
  engineFailure(): Error | undefined;
}

export default async function healthRoutes(app: FastifyInstance, options: HealthOptions) {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the process answers and its engine can still run (503 once the engine thread has stopped)',
        response: { 200: HealthResponse, 503: HealthResponse },
      },
    },
    async (_request, reply) => {
      const failure = options.engineFailure();
      if (failure !== undefined)
        return reply.code(503).send({ status: 'engine failed' as const, reason: failure.message });
      return { status: 'ok' as const };
    },
  );

  // The app is only built once the model is loaded and warmed up, so the ways to be unready are shutting down and
  // an engine that has stopped.
  app.get(
    '/readyz',
    {
      schema: {
        summary:
          'Readiness: model loaded and warmed up, not shutting down (503 while draining or when the engine failed)',
        response: { 200: ReadinessResponse, 503: ReadinessResponse },
      },
    },
    async (_request, reply) => {
      if (options.isDraining()) return reply.code(503).send({ status: 'draining' as const });
      if (options.engineFailure() !== undefined) return reply.code(503).send({ status: 'engine failed' as const });
      return { status: 'ready' as const };
    },
  );
}
