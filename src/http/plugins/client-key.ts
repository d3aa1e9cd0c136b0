import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { clientKeyOf } from '../../inference/client-key.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request (clientKeyOf), for fair sharing of the queue and the engine. */
    clientKey: string;
  }
}

export interface ClientKeyOptions {
  /** API keys are required: the key names the client. */
  apiKeys: boolean;
  /** CLIENT_ID_HEADER: a header set by a trusted proxy that names the client; absent: not used. */
  header?: string;
}

/** Sets request.clientKey as soon as a request's headers arrive, before admission looks at it. */
export default fp(async function clientKey(app: FastifyInstance, options: ClientKeyOptions) {
  app.decorateRequest('clientKey', '');
  app.addHook('onRequest', async (request) => {
    const named = options.header === undefined ? undefined : request.headers[options.header];
    request.clientKey = clientKeyOf({
      authorization: options.apiKeys ? request.headers.authorization : undefined,
      named: Array.isArray(named) ? named[0] : named,
      address: request.ip,
    });
  });
});
