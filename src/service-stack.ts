import type { Tracer } from '@opentelemetry/api';
import { pino } from 'pino';
import type { Config } from './config/config.js';
import type { Engine } from './engine/engine.js';
import { type InferenceStack, startInferenceStack } from './inference/inference-stack.js';
import { ServiceMetrics } from './metrics/metrics.js';
import type { Model } from './model/model.js';
import { allObservers } from './queue/observers.js';
import { recordBatchTimings } from './timing/request-timing.js';

export interface ServiceStackOptions {
  config: Config;
  /** A model already loaded; loaded from config.modelId or config.modelDir otherwise. */
  model?: Model;
  /** An engine already created for that model; created from config otherwise. The service disposes of it on close. */
  engine?: Engine;
  /** OpenTelemetry's tracer, when the caller started tracing (src/tracing/start-tracing.ts); absent: no spans. */
  tracer?: Tracer;
}

/** The inference stack with the service's observers on its batches: metrics, request timings, batch spans. */
export async function startServiceStack(
  options: ServiceStackOptions,
): Promise<InferenceStack & { metrics: ServiceMetrics }> {
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
