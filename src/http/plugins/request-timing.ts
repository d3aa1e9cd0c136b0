import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { RequestTiming } from '../../timing/request-timing.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Where this request's time goes; only on inference routes (`config: { inference: true }`). */
    timing: RequestTiming | undefined;
  }
}

/**
 * Gives every inference request a RequestTiming (which its route passes to classify) and answers with TEI's timing
 * headers once its texts have run, so a caller sees where the time went without a tracing backend.
 */
export default fp(async function requestTiming(app: FastifyInstance) {
  app.decorateRequest('timing', undefined);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.inference === true) request.timing = new RequestTiming();
  });
  app.addHook('onSend', async (request, reply) => {
    const headers = request.timing?.headers(reply.elapsedTime);
    if (headers !== undefined) reply.headers(headers);
  });
});
