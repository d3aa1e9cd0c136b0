import { relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Tracer } from '@opentelemetry/api';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { ApiKeyStore } from './auth/api-key-store.js';
import { allObservers } from './queue/observers.js';
import type { Config } from './config/config.js';
import { HttpDrain } from './http/drain.js';
import type { Engine } from './engine/engine.js';
import { startGrpcServer } from './grpc/grpc-server.js';
import { platformOf } from './open-inference/protocol.js';
import { Inference } from './inference/inference.js';
import { type InferenceStack, startInferenceStack } from './inference/inference-stack.js';
import { ServiceMetrics } from './metrics/metrics.js';
import type { Model } from './model/model.js';
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
import { recordBatchTimings } from './timing/request-timing.js';
import jsonBody from './http/plugins/json-body.js';
import securityHeaders from './http/plugins/security-headers.js';
import uploadBudget from './http/plugins/upload-budget.js';
import closeUnreadBody from './http/plugins/close-unread-body.js';
import clientKey from './http/plugins/client-key.js';

export interface AppOptions {
  config: Config;
  /** A model already loaded; loaded from config.modelId or config.modelDir otherwise. */
  model?: Model;
  /** An engine already created for that model; created from config otherwise. The app disposes of it on close. */
  engine?: Engine;
  /** OpenTelemetry's tracer, when the caller started tracing (src/tracing/start-tracing.ts); absent: no spans. */
  tracer?: Tracer;
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

/** The inference stack with the service's observers on its batches: metrics, request timings, batch spans. */
async function startObservedStack(options: AppOptions): Promise<InferenceStack & { metrics: ServiceMetrics }> {
  const { config } = options;
  let createdMetrics: ServiceMetrics | undefined;
  const tracing = options.tracer === undefined ? undefined : await import('./tracing/batch-spans.js');
  const stack = await startInferenceStack(config, {
    model: options.model,
    engine: options.engine,
    // Its own logger: a download from the Hub happens before the app (and Fastify's logger) exists.
    hubLog: () => pino({ level: config.logLevel }),
    observerFor: (model, engine) => {
      const identity = { kind: engine.kind, device: engine.device, backend: engine.backend };
      createdMetrics = new ServiceMetrics({
        queueCapacity: config.maxQueue,
        model: { model: model.name, engine: engine.kind, device: engine.device, backend: engine.backend },
      });
      for (const metric of engine.metrics ?? []) createdMetrics.registry.registerMetric(metric);
      return allObservers(
        createdMetrics,
        { batchCompleted: recordBatchTimings },
        tracing?.batchSpans(options.tracer as Tracer, identity),
      );
    },
  });
  if (createdMetrics === undefined) throw new Error('the inference stack started without its observer');
  return { ...stack, metrics: createdMetrics };
}

/**
 * Shutdown in Fastify's hooks: the drain before the listener closes, Connection: close while draining, the release
 * of the inference path at the end. Returns the list where listeners other than HTTP (gRPC) add their own drain.
 */
function addShutdown(
  app: FastifyInstance,
  config: Config,
  inference: Inference,
): ((settleUntil: number) => Promise<void>)[] {
  const drain = new HttpDrain(app);
  // The drain happens in preClose because Fastify awaits it before it closes the listener. Closing the listener first
  // (what close() alone does) resets every connection still in the kernel's accept queue: on a server whose event
  // loop a batch is holding, most of those opened in the last moments. With the listener open, their requests are
  // read and refused with a 503 that a client can retry elsewhere. The accepted work comes first, with no deadline
  // but SHUTDOWN_TIMEOUT_MS's; the settling after it (see HttpDrain) gets until half of that, leaving the rest to close.
  /** Listeners other than HTTP (gRPC), drained alongside it within the same bound. */
  const otherDrains: ((settleUntil: number) => Promise<void>)[] = [];
  app.addHook('preClose', async () => {
    const settleUntil = performance.now() + config.shutdownTimeoutMs / 2;
    // Refuse new work and stop waiting for fuller batches. Submissions of admitted requests are still taken: one
    // accepted before the signal may finish receiving its body during the drain.
    void inference.drain();
    await Promise.all([drain.wait(settleUntil), ...otherDrains.map((wait) => wait(settleUntil))]);
  });
  // Answers sent while draining close their keep-alive connection. Fastify does so itself only for requests routed
  // after close() began; a connection left open after an earlier request's answer would be closed at the very end,
  // racing with its client reusing it.
  app.addHook('onSend', async (_request, reply) => {
    if (inference.draining) reply.header('connection', 'close');
  });
  app.addHook('onClose', async () => {
    // Every accepted request has been answered by now, so this only refuses stragglers and releases the engine.
    await inference.classifier.close();
  });

  return otherDrains;
}

/**
 * The whole service as a Fastify instance, not yet listening. It resolves once the model is loaded and the engine
 * warmed up, so a built app is a ready one.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  // Before the model loads: an unreadable key file fails the start at once. Reload problems are logged once the
  // logger exists; the keys in force stay until the file reads again.
  let logReloadError = (_error: Error): void => {};
  const apiKeys =
    (config.apiKeys ?? []).length > 0 || config.apiKeyFile !== undefined
      ? new ApiKeyStore({
          keys: config.apiKeys,
          file: config.apiKeyFile,
          onReloadError: (error) => logReloadError(error),
        })
      : undefined;
  const { model, engine, layout, classifier, metrics } = await startObservedStack(options);
  const inference = new Inference(classifier, config);
  metrics.watchClients(() => classifier.admission.clientsByClass());

  const app = createFastify(config);
  app.log.info(
    {
      model: model.name,
      // Which weights file and why (DTYPE=auto picks per directory and device).
      file: relative(model.dir, model.weightsPath),
      dtype: model.dtype,
      dtypeReason: model.dtypeReason,
      engine: engine.kind,
      device: engine.device,
      backend: engine.backend,
      thread: layout.thread,
      instances: engine.instances,
      intraOpThreads: layout.intraOpThreads,
    },
    'engine ready',
  );
  for (const reason of engine.skippedBackends) {
    // An absent optional package is expected; one that is installed but cannot run is worth a warning.
    if (/ is not installed$/.test(reason)) app.log.info({ skipped: reason }, 'engine backend not installed');
    else app.log.warn({ skipped: reason }, 'engine backend installed but unusable, fell back');
  }
  // Only JSON bodies: text/plain would otherwise be parsed and then fail validation as a 400, not a 415.
  app.removeContentTypeParser('text/plain');

  const otherDrains = addShutdown(app, config, inference);
  // Node answers a request whose headers or body did not arrive within BODY_TIMEOUT_MS with 408 itself (Fastify's
  // client error handler writes it); this listener only counts them.
  app.server.on('clientError', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') metrics.rejected('body_timeout');
  });

  await app.register(securityHeaders);
  await app.register(closeUnreadBody);
  await app.register(clientKey, { apiKeys: apiKeys !== undefined, header: config.clientIdHeader });
  if (apiKeys !== undefined) {
    logReloadError = (error) =>
      app.log.warn(
        { file: config.apiKeyFile, reason: error.message },
        'API key file unreadable; keeping the keys in force',
      );
    app.log.info({ keys: apiKeys.size, file: config.apiKeyFile ?? null }, 'API keys required on inference routes');
  }
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
  await app.register(analyzeRoute, { inference });
  // The same inference call, limits and deadline in the wire shapes of existing clients (Inference API, TEI, KServe v2).
  await app.register(clientProtocolRoutes, { inference, metrics, platform: platformOf(engine.kind) });
  await app.register(healthRoutes, { inference });
  if (config.grpcPort !== undefined) {
    const grpcServer = await startGrpcServer({
      inference,
      metrics,
      host: config.host,
      port: config.grpcPort,
      maxMessageBytes: config.bodyLimitBytes,
      apiKeys,
      clientIdHeader: config.clientIdHeader,
      platform: platformOf(engine.kind),
      log: app.log,
    });
    app.log.info({ grpcAddress: grpcServer.address }, 'gRPC listening');
    app.decorate('grpcAddress', grpcServer.address);
    otherDrains.push((settleUntil) => grpcServer.drain(settleUntil));
  }
  await app.register(infoRoute, { classifier, config, layout });
  await app.register(metricsRoute, { metrics });
  return app;
}
