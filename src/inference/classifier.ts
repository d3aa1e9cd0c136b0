import { performance } from 'node:perf_hooks';
import { Batcher, type BatcherObserver } from '../queue/batcher.js';
import type { BatchLimits } from '../queue/batch-policy.js';
import { resolveMaxBatchTokens } from '../queue/batch-token-budget.js';
import type { Engine } from '../engine/engine.js';
import { packBatch } from '../engine/packed-batch.js';
import type { Model } from '../model/model.js';
import type { EncodedText, TruncationSide } from '../model/tokenizer.js';
import type { RequestTiming } from '../timing/request-timing.js';
import { predictionsOf, type Prediction, type Scoring } from './postprocess.js';

export interface BatchingSettings extends Omit<BatchLimits, 'maxBatchTokens'> {
  /** auto: from the model's width and the engine's device (resolveMaxBatchTokens). */
  maxBatchTokens: number | 'auto';
  maxWaitMs: number;
  maxQueue: number;
}

export interface ClassifyOptions {
  /** Cut over-long texts to the model's maximum length (true) or refuse them with TextTooLongError (false). */
  truncate: boolean;
  /** Labels per text, best first. */
  topK: number;
  /** Which end of an over-long text is cut; absent: the end (right), as Hugging Face does by default. */
  truncationSide?: TruncationSide;
  /** How scores come from logits; absent: the model's own (softmax, or sigmoid for multi-label models). */
  scoring?: Scoring;
  /** performance.now() instant after which the texts are dropped (DeadlineExceededError); absent: no deadline. */
  deadline?: number;
  signal?: AbortSignal;
  /** Records where this call's time goes (timing headers, trace spans); absent: nothing is recorded. */
  timing?: RequestTiming;
}

/**
 * Texts in, labels out: tokenizes, queues the texts in the batcher, runs the engine on each batch and scores the
 * logits. Nothing here knows HTTP, so the server and a batch job use it alike.
 */
export class Classifier {
  readonly batcher: Batcher<EncodedText, Float32Array>;
  /** The batching settings in force, MAX_BATCH_TOKENS resolved. */
  readonly batching: BatchingSettings & BatchLimits;

  constructor(
    readonly model: Model,
    readonly engine: Engine,
    settings: BatchingSettings,
    observer?: BatcherObserver,
  ) {
    const batching = {
      ...settings,
      maxBatchTokens: resolveMaxBatchTokens(settings.maxBatchTokens, engine.device, model.hiddenSize),
    };
    this.batching = batching;
    this.batcher = new Batcher<EncodedText, Float32Array>({
      ...batching,
      observer,
      lengthOf: (text) => text.ids.length,
      maxConcurrentBatches: engine.instances,
      runBatch: async (texts) => {
        // The one place a batch is packed: from here to the engine (and its thread) it travels as typed arrays.
        const logits = await engine.run(packBatch(texts));
        const width = engine.numLabels;
        return texts.map((_, row) => logits.subarray(row * width, (row + 1) * width));
      },
    });
  }

  /** Tokenization happens here, before queueing, so every queued text knows its length. */
  async classify(texts: readonly string[], options: ClassifyOptions): Promise<Prediction[][]> {
    const tokenizationStartedAt = options.timing === undefined ? 0 : performance.now();
    const encoded = texts.map((text, index) =>
      this.model.tokenizer.encode(text, index, options.truncate, options.truncationSide),
    );
    options.timing?.tokenized(tokenizationStartedAt, performance.now(), encoded.map((text) => text.ids.length));
    const logits = await this.batcher.submit(encoded, { deadline: options.deadline, signal: options.signal, tag: options.timing });
    return logits.map((row) => predictionsOf(row, this.model, options.topK, options.scoring));
  }

  /** Stops waiting for fuller batches; resolves once nothing is queued or running (new work is still taken). */
  drain(): Promise<void> {
    return this.batcher.drain();
  }

  /** Answers everything accepted so far, then refuses new work and releases the engine. */
  async close(): Promise<void> {
    await this.batcher.drain();
    this.batcher.close();
    await this.engine.dispose();
  }
}
