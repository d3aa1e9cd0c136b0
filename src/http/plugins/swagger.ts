import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { packageVersion } from '../../config/package-root.js';
import { apiKeySecurityScheme } from './api-key.js';

/** OpenAPI generated from the route schemas: UI at /docs, the document at /docs/json. */
export default fp(async function swaggerPlugin(app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Sentiment inference service',
        description:
          'Sentiment analysis over HTTP, micro-batched on ONNX Runtime; results in the Hugging Face pipeline shape.',
        version: packageVersion,
      },
      // Declared always; operations list it only when API keys are set (src/http/plugins/api-key.ts).
      components: {
        securitySchemes: {
          [apiKeySecurityScheme]: {
            type: 'http',
            scheme: 'bearer',
            description: 'an API key (API_KEYS / API_KEY_FILE)',
          },
        },
      },
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // The UI's own CSP (hashes of its inline scripts) replaces helmet's on its pages, so /docs works under a CSP. No
    // upgrade-insecure-requests: over plain HTTP it would send the UI's assets to an https:// that is not there.
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, ''),
  });
});
