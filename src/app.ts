import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { createEngine } from './engine/create-engine.js';
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
import { RequestLog } from './request-log.js';

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
  const model = options.model ?? (await loadModel(config.modelDir, config.dtype));
  const engine = options.engine ?? (await createEngine(model, config));
  const metrics = new ServiceMetrics({
    queueCapacity: config.maxQueue,
    model: { model: model.name, engine: engine.kind, device: engine.device, backend: engine.backend },
  });
  const classifier = new Classifier(model, engine, config, metrics);

  const app = Fastify({
    logger: { level: config.logLevel },
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: requestIdOf,
    logController: new RequestLog(),
    // Shutdown is handled below: only /analyze refuses new work, probes and /metrics keep answering.
    return503OnClosing: false,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });
  // Only JSON bodies: text/plain would otherwise be parsed and then fail validation as a 400, not a 415.
  app.removeContentTypeParser('text/plain');

  let draining = false;
  const isDraining = (): boolean => draining;
  app.addHook('preClose', async () => {
    draining = true;
    // Stop waiting for fuller batches; awaiting the drain happens in onClose, after the listener has closed.
    void classifier.batcher.drain();
  });
  // Answers sent while draining close their connection: a keep-alive client would otherwise hold the server open.
  app.addHook('onSend', async (_request, reply) => {
    if (draining) reply.header('connection', 'close');
  });
  app.addHook('onClose', async () => {
    await classifier.close();
  });

  await app.register(swagger);
  await app.register(errorHandler, { metrics });
  await app.register(requestId);
  await app.register(httpMetrics, { metrics });
  await app.register(analyzeRoute, {
    classifier,
    maxTextsPerRequest: config.maxTextsPerRequest,
    requestTimeoutMs: config.requestTimeoutMs,
    isDraining,
  });
  await app.register(healthRoutes, { isDraining });
  await app.register(infoRoute, { classifier, config });
  await app.register(metricsRoute, { metrics });
  return app;
}
