import type { FastifyInstance } from 'fastify';
import type { Inference } from '../../inference/inference.js';
import { HealthResponse, ReadinessResponse } from '../schemas/health.js';

export default async function healthRoutes(
  app: FastifyInstance,
  { inference }: { inference: Pick<Inference, 'engineFailure' | 'readiness'> },
) {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the process answers and its engine can still run (503 once the engine thread has stopped)',
        response: { 200: HealthResponse, 503: HealthResponse },
      },
    },
    async (_request, reply) => {
      const failure = inference.engineFailure;
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
          'Readiness: model loaded and warmed up, not shutting down (503 while draining, when the engine failed, or while its remote model server is away)',
        response: { 200: ReadinessResponse, 503: ReadinessResponse },
      },
    },
    async (_request, reply) => {
      const status = inference.readiness;
      return status === 'ready' ? { status } : reply.code(503).send({ status });
    },
  );
}
