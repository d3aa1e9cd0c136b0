import { performance } from 'node:perf_hooks';
import { Batcher, type BatcherObserver } from '../queue/batcher.js';
import type { BatchLimits } from '../queue/batch-policy.js';
import { resolveMaxBatchTokens } from '../queue/batch-token-budget.js';
import { resolveLongTextTokens, type LongTextShareLimits } from '../queue/long-text-share.js';
import type { Engine } from '../engine/engine.js';
import { packBatch } from '../engine/packed-batch.js';
import type { TruncationSide } from '../model/character-cut.js';
import type { Model } from '../model/model.js';
import type { EncodedText } from '../model/tokenizer.js';
import { InferenceFailedError, RejectionError } from '../errors/rejections.js';
import { ConfigError, type FixedShape } from '../config/config.js';
import { formatShapes, shapeForLengths } from '../queue/batch-shapes.js';
import { traceparentOf } from '../tracing/traceparent.js';
import type { RequestTiming } from '../timing/request-timing.js';
import { Admission, type ClientKey, resolvePerClientQueue } from './admission.js';
import { predictionsOf, type Prediction, type Scoring } from './postprocess.js';
import type { TokenizerPool } from './tokenizer-pool.js';

/**
 * A request whose texts hold at most this many characters (after the cut to what fits the model) is tokenized on
 * the calling thread: that is quicker than a round trip to a tokenizer thread, and short enough not to hold up
 * HTTP. Longer ones go to the tokenizer pool when there is one.
 */
export const inlineTokenizationCharacters = 1024;

export interface BatchingSettings extends Omit<BatchLimits, 'maxBatchTokens'> {
  /** auto: from the model's width and the engine's device (resolveMaxBatchTokens). */
  maxBatchTokens: number | 'auto';
  maxWaitMs: number;
  maxQueue: number;
  /** See ShortLane; absent or 0: off. */
  shortLaneTokens?: number;
  /** See LongTextShare; absent: no limit on long texts' share of the engine. auto: resolveLongTextTokens. */
  longTextTokens?: number | 'auto';
  longTextShare?: number;
  /** CPUs the process may use, and the threads one batch computes on: what LONG_TEXT_SHARE counts in. */
  cpus?: number;
  engineThreadsPerBatch?: number;
  /** Most texts in one request: a request waiting for room is let in once this many fit. */
  maxTextsPerRequest?: number;
  /** Most texts one client may have waiting (resolvePerClientQueue); absent: the whole queue. */
  maxQueuePerClient?: number | 'auto';
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
  /** Who asked (src/http/client-key.ts): clients share the queue and the engine fairly. */
  client?: ClientKey;
}

/** Every text the model takes must fit some shape, or the longest ones could never run. */
function checkShapesHoldModel(shapes: readonly FixedShape[] | undefined, model: Model): void {
  if (shapes === undefined) return;
  const widest = Math.max(...shapes.map((shape) => shape.columns));
  if (widest < model.maxLength) {
    throw new ConfigError([
      `BATCH_SHAPES=${formatShapes(shapes)}: the longest sequence is ${widest} tokens, but the model takes up to ` +
        `${model.maxLength} (${model.maxLengthSource}); add a shape of ${model.maxLength} tokens`,
    ]);
  }
}

/**
 * Texts in, labels out, in explicit stages: admit (count the texts against the queue before any work) -> tokenize
 * (cut to what fits, then token ids; long requests on the tokenizer pool) -> queue and batch (the batcher runs the
 * engine) -> postprocess (scores). Nothing here knows HTTP, so the server and a batch job use it alike.
 */
export class Classifier {
  readonly batcher: Batcher<EncodedText, Float32Array>;
  readonly admission: Admission;
  /** The batching settings in force, MAX_BATCH_TOKENS resolved. */
  readonly batching: BatchingSettings & BatchLimits;
  /** The limit on long texts in force (LONG_TEXT_TOKENS resolved), or undefined for none. */
  readonly longTexts: LongTextShareLimits | undefined;

  constructor(
    readonly model: Model,
    readonly engine: Engine,
    settings: BatchingSettings,
    observer?: BatcherObserver,
    private readonly tokenizerPool?: TokenizerPool,
  ) {
    const batching = {
      ...settings,
      maxBatchTokens: resolveMaxBatchTokens(settings.maxBatchTokens, engine.device, model.hiddenSize),
    };
    this.batching = batching;
    const { longTextTokens, longTextShare } = settings;
    this.longTexts =
      longTextTokens === undefined || longTextShare === undefined
        ? undefined
        : {
            longTextTokens: resolveLongTextTokens(longTextTokens, model.maxLength),
            longTextShare,
            cpus: settings.cpus,
            threadsPerBatch: settings.engineThreadsPerBatch,
          };
    this.batcher = new Batcher<EncodedText, Float32Array>({
      ...batching,
      longTexts: this.longTexts,
      observer: {
        queueDepthChanged: (depth) => {
          observer?.queueDepthChanged(depth);
          this.admission.roomChanged();
        },
        batchCompleted: (report) => observer?.batchCompleted(report),
      },
      lengthOf: (text) => text.ids.length,
      maxConcurrentBatches: engine.instances,
      runBatch: async (texts, tags) => {
        let logits: Float32Array;
        try {
          // Packed for the engine: from here to the engine (and its thread) the batch travels as typed arrays.
          const shape = shapeForLengths(
            this.batching.batchShapes,
            texts.map((text) => text.ids.length),
          );
          logits = await engine.run(packBatch(texts, shape), { traceparent: traceparentOf(tags) });
        } catch (error) {
          // A refusal (a remote engine that is unreachable for now) reaches the client as it is: 503, retry later.
          if (error instanceof RejectionError) throw error;
          throw new InferenceFailedError(error instanceof Error ? error : new Error(String(error)));
        }
        const width = engine.numLabels;
        return texts.map((_, row) => logits.subarray(row * width, (row + 1) * width));
      },
    });
    const wakeRoom = settings.maxTextsPerRequest ?? 1;
    this.admission = new Admission(
      {
        capacity: settings.maxQueue,
        perClient: resolvePerClientQueue(settings.maxQueuePerClient ?? settings.maxQueue, settings.maxQueue, wakeRoom),
        wakeRoom,
      },
      {
        queued: () => this.batcher.depth,
        queuedOf: (client) => this.batcher.depthOf(client),
        queuedClients: () => this.batcher.clients(),
      },
    );
    checkShapesHoldModel(settings.batchShapes, model);
  }

  /** Why the engine or the tokenizer threads can no longer work, if they cannot; then only a restart helps. */
  get failure(): Error | undefined {
    return this.engine.failure ?? this.tokenizerPool?.failure;
  }

  async classify(texts: readonly string[], options: ClassifyOptions): Promise<Prediction[][]> {
    // Admit: throws QueueFullError before any tokenization.
    const release = this.admission.admit(texts.length, options.client);
    let encoded: EncodedText[];
    const tokenizationStartedAt = performance.now();
    try {
      encoded = await this.tokenize(texts, options);
    } finally {
      release();
    }
    const tokenizedAt = performance.now();
    const lengths = encoded.map((text) => text.ids.length);
    options.timing?.tokenized(tokenizationStartedAt, tokenizedAt, lengths);
    // Tokenizing a long text (a megabyte cut to the model's maximum) is CPU time its share pays for too.
    const longTextTokens = this.longTexts?.longTextTokens;
    if (longTextTokens !== undefined && lengths.some((length) => length > longTextTokens)) {
      this.batcher.recordLongWork((tokenizedAt - tokenizationStartedAt) / 1000);
    }
    // Queue and batch: the batcher's own capacity check passes, as the admitted texts were counted until now.
    const logits = await this.batcher.submit(encoded, {
      deadline: options.deadline,
      signal: options.signal,
      tag: options.timing,
      client: options.client,
    });
    return logits.map((row) => predictionsOf(row, this.model, options.topK, options.scoring));
  }

  /** Stops waiting for fuller batches; resolves once nothing is queued or running (new work is still taken). */
  drain(): Promise<void> {
    return this.batcher.drain();
  }

  /** Token ids for each text; every queued text knows its length from here on. */
  private tokenize(texts: readonly string[], options: ClassifyOptions): Promise<EncodedText[]> | EncodedText[] {
    const side = options.truncationSide ?? 'right';
    const tokenizer = this.model.tokenizer;
    let characters = 0;
    for (const text of texts) characters += Math.min(text.length, tokenizer.maxCharacters);
    if (this.tokenizerPool === undefined || characters <= inlineTokenizationCharacters) {
      return texts.map((text, index) => tokenizer.encode(text, index, options.truncate, side));
    }
    return this.tokenizerPool.tokenize(texts, options.truncate, side);
  }

  /** Answers everything accepted so far, then refuses new work and releases the engine and the tokenizer pool. */
  async close(): Promise<void> {
    await this.batcher.drain();
    this.batcher.close();
    await Promise.all([this.engine.dispose(), this.tokenizerPool?.close()]);
  }
}
