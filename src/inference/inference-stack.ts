import type { Config } from '../config/config.js';
import { availableCpus } from '../config/cpu-quota.js';
import { startEngine } from '../engine/create-engine.js';
import { type EngineLayout, resolveEngineLayout } from '../engine/engine-layout.js';
import type { Engine } from '../engine/engine.js';
import type { HubLog } from '../hub/hub-client.js';
import { verifyChecksumManifest } from '../model/checksum-manifest.js';
import { loadConfiguredModel } from '../model/configured-model.js';
import type { Model } from '../model/model.js';
import type { BatcherObserver } from '../queue/batcher.js';
import { Classifier } from './classifier.js';
import { TokenizerPool } from './tokenizer-pool.js';

/** Model, engine, tokenizer threads and classifier, as the config asks for them. */
export interface InferenceStack {
  model: Model;
  engine: Engine;
  layout: EngineLayout;
  /** Tokenizer threads started (TOKENIZER_THREADS; 0: every text is tokenized on the calling thread). */
  tokenizerThreads: number;
  classifier: Classifier;
}

export interface InferenceStackOptions {
  /** A model already loaded; loaded from MODEL_ID or MODEL_DIR otherwise (and its model.sha256 checked). */
  model?: Model;
  /** An engine already created for that model, on the caller's thread; created from the config otherwise. */
  engine?: Engine;
  /** The logger for a Hub download, made only when one happens. */
  hubLog: () => HubLog;
  /** Who watches the batches (metrics, timing, spans), once the engine that runs them is known. */
  observerFor?(model: Model, engine: Engine): BatcherObserver | undefined;
}

/**
 * The one assembly of the inference path, for the server and sentiment-batch alike, so every `engine`-scope setting
 * (TOKENIZER_THREADS included) and the checksum check apply to both.
 */
export async function startInferenceStack(config: Config, options: InferenceStackOptions): Promise<InferenceStack> {
  const model = options.model ?? (await loadConfiguredModel(config, options.hubLog));
  // An optional model.sha256 beside the weights (sha256sum format) is checked before the engine loads them.
  if (options.model === undefined) await verifyChecksumManifest(model.dir);
  // An engine handed in (tests, embedding) was built by the caller on the caller's thread.
  const layout: EngineLayout = options.engine
    ? { thread: 'main', instances: options.engine.instances, intraOpThreads: config.intraOpThreads }
    : resolveEngineLayout(config, availableCpus());
  const engine = options.engine ?? (await startEngine(model, config, layout));
  try {
    const tokenizerPool =
      config.tokenizerThreads > 0
        ? await TokenizerPool.start({ modelDir: model.dir, maxLength: model.maxLength }, config.tokenizerThreads)
        : undefined;
    // LONG_TEXT_SHARE counts CPU time: a batch computes on the engine's intra-op threads (all CPUs when unset).
    const cpus = availableCpus();
    const classifier = new Classifier(
      model,
      engine,
      { ...config, cpus, engineThreadsPerBatch: layout.intraOpThreads ?? cpus },
      options.observerFor?.(model, engine),
      tokenizerPool,
    );
    return { model, engine, layout, tokenizerThreads: tokenizerPool?.size ?? 0, classifier };
  } catch (error) {
    await engine.dispose();
    throw error;
  }
}
