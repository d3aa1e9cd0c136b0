import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { authFailureOf, UnauthorizedError } from '../../auth/auth-failure.js';
import type { ApiKeyStore } from '../../auth/api-key-store.js';
import type { ServiceMetrics } from '../../metrics/metrics.js';
import { ErrorResponse } from '../schemas/error.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route runs the model: it needs an API key when keys are set, and gets timing headers and trace spans.
     * Every route that calls the classifier declares it, whatever its protocol.
     */
    inference?: boolean;
  }
}

export interface ApiKeyOptions {
  keys: ApiKeyStore;
  /** /docs (UI and document) and /info need a key too. */
  forDocs: boolean;
  metrics: ServiceMetrics;
}

/** The OpenAPI security scheme (declared in swagger.ts) that guarded operations list. */
export const apiKeySecurityScheme = 'apiKey';

function isDocsRoute(url: string): boolean {
  return url === '/info' || url === '/docs' || url.startsWith('/docs/');
}

/**
 * Puts an API-key check in front of every route that declares `config: { inference: true }` (and of /docs and /info
 * with forDocs), as that route's first onRequest hook: refused requests cost no body parsing. A refusal is an
 * UnauthorizedError, answered by the route's error handler: Fastify's shape on /analyze, each client protocol's own
 * on its routes (which list 401 among their error responses, so the ErrorResponse default here does not apply). Register it before the
 * routes it protects. The key is never logged: nothing here writes it anywhere, and the request log has no headers.
 */
export default fp(async function apiKey(app: FastifyInstance, options: ApiKeyOptions) {
  const { keys, metrics } = options;
  const check: onRequestHookHandler = (request: FastifyRequest, reply: FastifyReply, done) => {
    const reason = authFailureOf(request.headers.authorization, keys);
    if (reason === undefined) return done();
    metrics.authFailed(reason);
    const refusal = new UnauthorizedError(reason);
    // The route's own error handler writes the body in its protocol's shape; the challenge is the same for all.
    reply.header('www-authenticate', refusal.challenge);
    done(refusal);
  };

  app.addHook('onRoute', (route: RouteOptions) => {
    const guarded = route.config?.inference === true || (options.forDocs && isDocsRoute(route.url));
    if (!guarded || route.method === 'OPTIONS') return;
    const existing =
      route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [check, ...existing];
    if (route.schema !== undefined) {
      route.schema.security = [{ [apiKeySecurityScheme]: [] }];
      const responses = route.schema.response as Record<string, unknown> | undefined;
      if (responses !== undefined) responses['401'] ??= ErrorResponse;
    }
  });
  app.addHook('onClose', async () => keys.close());
});
