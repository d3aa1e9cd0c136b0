import type { Tracer } from '@opentelemetry/api';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ApiKeyStore } from './auth/api-key-store.js';
import type { Config } from './config/config.js';
import type { EngineLayout } from './engine/engine-layout.js';
import { HttpDrain } from './http/drain.js';
import type { Inference } from './inference/inference.js';
import type { ServiceMetrics } from './metrics/metrics.js';
import { platformOf } from './open-inference/protocol.js';
import apiKey from './http/plugins/api-key.js';
import cors from './http/plugins/cors.js';
import errorHandler from './http/plugins/error-handler.js';
import httpMetrics from './http/plugins/http-metrics.js';
import requestId, { requestIdOf } from './http/plugins/request-id.js';
import swagger from './http/plugins/swagger.js';
import analyzeRoute from './http/routes/analyze.js';
import clientProtocolRoutes from './http/routes/client-protocols.js';
import healthRoutes from './http/routes/health.js';
import infoRoute from './http/routes/info.js';
import metricsRoute from './http/routes/metrics.js';
import requestTiming from './http/plugins/request-timing.js';
import { loggedUrl, RequestLog } from './http/request-log.js';
import jsonBody from './http/plugins/json-body.js';
import securityHeaders from './http/plugins/security-headers.js';
import uploadBudget from './http/plugins/upload-budget.js';
import closeUnreadBody from './http/plugins/close-unread-body.js';
import clientKey from './http/plugins/client-key.js';

export interface AppOptions {
  config: Config;
  /** The one inference call, shared with gRPC (src/service.ts); the app never closes it. */
  inference: Inference;
  metrics: ServiceMetrics;
  layout: EngineLayout;
  /** API_KEYS / API_KEY_FILE, when set: required on the inference routes. */
  apiKeys?: ApiKeyStore;
  /** OpenTelemetry's tracer, when the caller started tracing (src/tracing/start-tracing.ts); absent: no spans. */
  tracer?: Tracer;
}

/** The HTTP transport: the Fastify app, and the drain its owner runs before closing it (src/service.ts). */
export interface HttpTransport {
  app: FastifyInstance;
  /**
   * Answers the requests in progress and lets the connections still arriving in to be refused, until `settleUntil`
   * (a performance.now() instant) at most for the latter: see HttpDrain. The listener stays open meanwhile.
   */
  drain(settleUntil: number): Promise<void>;
}

/** Fastify with the service's server settings: timeouts for slow clients, body limit, ids, request log, drain. */
function createFastify(config: Config): FastifyInstance {
  return Fastify({
    logger: {
      level: config.logLevel,
      serializers: {
        req: (request: { method: string; url: string }) => ({ method: request.method, url: loggedUrl(request.url) }),
      },
    },
    // Slow clients: headers and body must arrive within BODY_TIMEOUT_MS (Node answers 408 and closes), checked every
    // second rather than Node's 30 s; idle keep-alive connections close after KEEP_ALIVE_TIMEOUT_MS.
    requestTimeout: config.bodyTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: {
      requestTimeout: config.bodyTimeoutMs,
      headersTimeout: Math.min(60_000, config.bodyTimeoutMs),
      connectionsCheckingInterval: Math.min(1000, config.bodyTimeoutMs),
    },
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: requestIdOf,
    logController: new RequestLog(),
    // Draining (below) decides which requests are refused: only new /analyze work, while probes and /metrics keep
    // answering. Fastify's own 503 would also hide readiness and metrics during the drain.
    return503OnClosing: false,
    // 'idle' (Fastify's default, spelled out because shutdown depends on it): when the listener closes, only
    // connections with no request in progress are closed; `true` would cut answers still being written.
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });
}

/**
 * Shutdown's share of HTTP: a drain that keeps the listener open (see HttpDrain), and Connection: close on answers
 * sent while draining. Fastify closes a keep-alive connection itself only for requests routed after close() began;
 * one left open after an earlier request's answer would be closed at the very end, racing with its client reusing it.
 */
function addDrain(app: FastifyInstance, inference: Inference): HttpDrain {
  const drain = new HttpDrain(app);
  app.addHook('onSend', async (_request, reply) => {
    if (inference.draining) reply.header('connection', 'close');
  });
  return drain;
}

/** Plugins in the order their hooks must run: security headers and client identity first, routes' helpers after. */
async function registerPlugins(app: FastifyInstance, options: AppOptions): Promise<void> {
  const { config, apiKeys, metrics } = options;
  await app.register(securityHeaders);
  await app.register(closeUnreadBody);
  await app.register(clientKey, { apiKeys: apiKeys !== undefined, header: config.clientIdHeader });
  // CORS first: a preflight is answered before any other hook. The key check goes in before any route is added.
  if ((config.corsOrigins ?? []).length > 0) await app.register(cors, { origins: config.corsOrigins ?? [] });
  if (apiKeys !== undefined) await app.register(apiKey, { keys: apiKeys, forDocs: config.apiKeyForDocs, metrics });
  await app.register(swagger);
  await app.register(errorHandler, { metrics });
  await app.register(jsonBody);
  await app.register(uploadBudget, { limitBytes: config.bodyBufferLimitBytes, bodyLimitBytes: config.bodyLimitBytes });
  await app.register(requestId);
  await app.register(httpMetrics, { metrics });
  await app.register(requestTiming);
  if (options.tracer !== undefined) {
    const { default: requestTracing } = await import('./http/plugins/request-tracing.js');
    await app.register(requestTracing, { tracer: options.tracer });
  }
}

/**
 * The HTTP transport as a Fastify instance, not yet listening, on an inference call that is already warmed up (so
 * a built app is a ready one). Its owner (src/service.ts) drains it, closes it, and then closes the inference call.
 */
export async function buildApp(options: AppOptions): Promise<HttpTransport> {
  const { config, inference, metrics } = options;
  const app = createFastify(config);
  // Only JSON bodies: text/plain would otherwise be parsed and then fail validation as a 400, not a 415.
  app.removeContentTypeParser('text/plain');
  const drain = addDrain(app, inference);
  // Node answers a request whose headers or body did not arrive within BODY_TIMEOUT_MS with 408 itself (Fastify's
  // client error handler writes it); this listener only counts them.
  app.server.on('clientError', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') metrics.rejected('body_timeout');
  });
  await registerPlugins(app, options);
  await app.register(analyzeRoute, { inference });
  // The same inference call, limits and deadline in the wire shapes of existing clients (Inference API, TEI, KServe v2).
  const platform = platformOf(inference.classifier.engine.kind);
  await app.register(clientProtocolRoutes, { inference, metrics, platform });
  await app.register(healthRoutes, { inference });
  await app.register(infoRoute, { classifier: inference.classifier, config, layout: options.layout });
  await app.register(metricsRoute, { metrics });
  return { app, drain: (settleUntil) => drain.wait(settleUntil) };
}
