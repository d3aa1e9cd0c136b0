import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet from 'helmet';

/**
 * Helmet's security headers (X-Content-Type-Options, a CSP, HSTS, …) on every answer. The middleware is built once
 * here: @fastify/helmet builds it anew for every request, which under a flood of refusals is a cost per 429. No
 * upgrade-insecure-requests: the service is often reached over plain HTTP inside a cluster. The Swagger UI's pages
 * set their own CSP (src/http/plugins/swagger.ts), which takes precedence over this one.
 */
export default fp(async function securityHeaders(app: FastifyInstance) {
  const apply = helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } });
  app.addHook('onRequest', (request, reply, done) => {
    apply(request.raw, reply.raw, (error?: unknown) => done(error instanceof Error ? error : undefined));
  });
});
