import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { timingHeaderNames } from '../../timing/request-timing.js';

export interface CorsOptions {
  /** Allowed origins exactly as browsers send them, or ['*'] for any. */
  origins: readonly string[];
}

/**
 * CORS for browsers calling from the allowed origins (CORS_ORIGINS), with @fastify/cors. An origin that is not
 * allowed gets no CORS header at all and its preflight a 404, as if CORS were off, rather than a list of what the API
 * accepts. No credentials (cookies): the API authenticates with a bearer key, which a script sends explicitly.
 */
export default fp(async function cors(app: FastifyInstance, options: CorsOptions) {
  const any = options.origins.includes('*');
  const allowed = new Set(options.origins);
  await app.register(fastifyCors, {
    origin: any
      ? '*'
      : (origin, callback) => callback(null, origin !== undefined && allowed.has(origin) ? origin : false),
    methods: ['GET', 'HEAD', 'POST'],
    allowedHeaders: ['content-type', 'authorization', 'x-request-id', 'traceparent', 'tracestate'],
    exposedHeaders: ['x-request-id', 'retry-after', 'www-authenticate', ...timingHeaderNames],
    maxAge: 600,
  });
});
