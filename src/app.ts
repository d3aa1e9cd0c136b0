import { performance } from 'node:perf_hooks';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { HttpDrain } from './drain.js';
import { availableCpus } from './cpu-quota.js';
import { startEngine } from './engine/create-engine.js';
import { resolveEngineLayout } from './engine/engine-layout.js';
import type { Engine } from './engine/engine.js';
import { Classifier } from './inference/classifier.js';
import { ServiceMetrics } from './metrics.js';
import { loadModel, type Model } from './model/model.js';
import errorHandler from './plugins/error-handler.js';
import httpMetrics from './plugins/http-metrics.js';
import requestId, { requestIdOf } from './plugins/request-id.js';
import swagger from './plugins/swagger.js';
import analyzeRoute from './routes/analyze.js';
import healthRoutes from './routes/health.js';
import infoRoute from './routes/info.js';
import metricsRoute from './routes/metrics.js';
import { loggedUrl, RequestLog } from './request-log.js';
import jsonBody from './plugins/json-body.js';
import securityHeaders from './plugins/security-headers.js';
import uploadBudget from './plugins/upload-budget.js';
import { TokenizerPool } from './inference/tokenizer-pool.js';
import { verifyChecksumManifest } from './model/checksum-manifest.js';

export interface AppOptions {
  config: Config;
  /** A model already loaded; loaded from config.modelDir otherwise. */
  model?: Model;
  /** An engine already created for that model; created from config otherwise. The app disposes of it on close. */
  engine?: Engine;
}

/**
 * The whole service as a Fastify instance, not yet listening. It resolves once the model is loaded and the engine
 * warmed up, so a built app is a ready one.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  if (options.model === undefined) await verifyChecksumManifest(config.modelDir);
  const model = options.model ?? (await loadModel(config.modelDir, config.dtype, config.engine));
  // An engine handed in (tests, embedding) was built by the caller on the caller's thread.
  const layout = options.engine
    ? { thread: 'main' as const, instances: options.engine.instances ?? 1, intraOpThreads: config.intraOpThreads }
    : resolveEngineLayout(config, availableCpus());
  const engine = options.engine ?? (await startEngine(model, config, layout));
  const metrics = new ServiceMetrics({
    queueCapacity: config.maxQueue,
    model: { model: model.name, engine: engine.kind, device: engine.device, backend: engine.backend },
  });
  const tokenizerPool =
    config.tokenizerThreads > 0
      ? await TokenizerPool.start({ modelDir: model.dir, maxLength: model.maxLength }, config.tokenizerThreads)
      : undefined;
  const classifier = new Classifier(model, engine, config, metrics, tokenizerPool);

  const app = Fastify({
    logger: {
      level: config.logLevel,
      serializers: { req: (request: { method: string; url: string }) => ({ method: request.method, url: loggedUrl(request.url) }) },
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
  app.log.info(
    {
      model: model.name,
      engine: engine.kind,
      device: engine.device,
      backend: engine.backend,
      thread: layout.thread,
      instances: engine.instances ?? 1,
      intraOpThreads: layout.intraOpThreads,
    },
    'engine ready',
  );
  for (const reason of engine.skippedBackends ?? []) {
    // An absent optional package is expected; one that is installed but cannot run is worth a warning.
    if (/ is not installed$/.test(reason)) app.log.info({ skipped: reason }, 'engine backend not installed');
    else app.log.warn({ skipped: reason }, 'engine backend installed but unusable, fell back');
  }
  // Only JSON bodies: text/plain would otherwise be parsed and then fail validation as a 400, not a 415.
  app.removeContentTypeParser('text/plain');

  let draining = false;
  const isDraining = (): boolean => draining;
  const drain = new HttpDrain(app);
  // The drain happens in preClose because Fastify awaits it before it closes the listener. Closing the listener first
  // (what close() alone does) resets every connection still in the kernel's accept queue: on a server whose event
  // loop a batch is holding, most of those opened in the last moments. With the listener open, their requests are
  // read and refused with a 503 that a client can retry elsewhere. The accepted work comes first, with no deadline
  // but SHUTDOWN_TIMEOUT_MS's; the settling after it (see HttpDrain) gets until half of that, leaving the rest to close.
  app.addHook('preClose', async () => {
    const settleUntil = performance.now() + config.shutdownTimeoutMs / 2;
    draining = true;
    // Stop waiting for fuller batches. Submissions are still taken: a request accepted before the signal may
    // finish receiving its body during the drain.
    void classifier.batcher.drain();
    await drain.wait(settleUntil);
  });
  // Answers sent while draining close their keep-alive connection. Fastify does so itself only for requests routed
  // after close() began; a connection left open after an earlier request's answer would be closed at the very end,
  // racing with its client reusing it.
  app.addHook('onSend', async (_request, reply) => {
    if (draining) reply.header('connection', 'close');
  });
  // Node answers a request whose headers or body did not arrive within BODY_TIMEOUT_MS with 408 itself (Fastify's
  // client error handler writes it); this listener only counts them.
  app.server.on('clientError', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') metrics.rejected('body_timeout');
  });
  app.addHook('onClose', async () => {
    // Every accepted request has been answered by now, so this only refuses stragglers and releases the engine.
    await classifier.close();
  });

  await app.register(securityHeaders);
  await app.register(swagger);
  await app.register(errorHandler, { metrics });
  await app.register(jsonBody);
  await app.register(uploadBudget, { limitBytes: config.bodyBufferLimitBytes, bodyLimitBytes: config.bodyLimitBytes });
  await app.register(requestId);
  await app.register(httpMetrics, { metrics });
  await app.register(analyzeRoute, {
    classifier,
    maxTextsPerRequest: config.maxTextsPerRequest,
    requestTimeoutMs: config.requestTimeoutMs,
    admissionWaitMs: config.admissionWaitMs,
    maxQueue: config.maxQueue,
    isDraining,
  });
  await app.register(healthRoutes, { isDraining, engineFailure: () => engine.failure });
  await app.register(infoRoute, { classifier, config, layout });
  await app.register(metricsRoute, { metrics });
  return app;
}
