import { relative } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config.js';
import type { EngineLayout } from '../../engine/engine-layout.js';
import type { Classifier } from '../../inference/classifier.js';
import { packageVersion } from '../../config/package-root.js';
import { InfoResponse } from '../schemas/info.js';

export default async function infoRoute(
  app: FastifyInstance,
  options: { classifier: Classifier; config: Config; layout: EngineLayout },
) {
  const { model, engine, batching } = options.classifier;
  const { config } = options;
  const info = {
    version: packageVersion,
    model: {
      name: model.name,
      type: model.modelType,
      labels: model.labels,
      max_length: model.maxLength,
      // ENGINE=remote reads no weights here: the model server holds them and computes in its own dtype.
      file: engine.kind === 'remote' ? null : relative(model.dir, model.weightsPath),
      dtype: engine.kind === 'remote' ? null : model.dtype,
      dtype_reason: model.dtypeReason,
      // As TEI's model_id and model_sha; null for a local MODEL_DIR.
      id: model.hub?.modelId ?? null,
      revision: model.hub?.revision ?? null,
      sha: model.hub?.commit ?? null,
    },
    engine: {
      kind: engine.kind,
      device: engine.device,
      backend: engine.backend,
      thread: options.layout.thread,
      instances: engine.instances,
      intra_op_threads: options.layout.intraOpThreads ?? null,
      inter_op_threads: config.interOpThreads ?? null,
    },
    batching: {
      max_batch_size: batching.maxBatchSize,
      max_batch_tokens: batching.maxBatchTokens,
      max_padding_ratio: batching.maxPaddingRatio,
      max_wait_ms: batching.maxWaitMs,
      max_queue: batching.maxQueue,
      long_text_tokens: options.classifier.longTexts?.longTextTokens ?? null,
      long_text_share: options.classifier.longTexts?.longTextShare ?? null,
      short_lane_tokens: batching.shortLaneTokens ?? 0,
    },
    limits: {
      max_texts_per_request: config.maxTextsPerRequest,
      body_limit_bytes: config.bodyLimitBytes,
      request_timeout_ms: config.requestTimeoutMs,
    },
  };

  app.get(
    '/info',
    { schema: { summary: 'Model, engine, batching settings and version', response: { 200: InfoResponse } } },
    async () => info,
  );
}
