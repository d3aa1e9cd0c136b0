import type { Engine } from '../../src/engine/engine.js';
import { type PackedBatch, unpackBatch } from '../../src/engine/packed-batch.js';
import type { EncodedText } from '../../src/model/tokenizer.js';

/**
 * Wraps a real engine so a test decides when batches finish: while closed, each run waits at the gate, which makes
 * "the engine is busy" a state the test sets instead of a race it hopes to win.
 */
export class GatedEngine implements Engine {
  readonly kind;
  readonly device;
  readonly backend;
  readonly numLabels;
  readonly instances;
  readonly skippedBackends;
  /** Sizes of every batch that reached the engine, in order. */
  readonly batchSizes: number[] = [];
  /** The texts (token ids) of every batch that reached the engine. */
  readonly batches: (readonly EncodedText[])[] = [];
  private open = true;
  private waiting: (() => void)[] = [];

  constructor(private readonly inner: Engine) {
    this.kind = inner.kind;
    this.device = inner.device;
    this.backend = inner.backend;
    this.numLabels = inner.numLabels;
    this.instances = inner.instances;
    this.skippedBackends = inner.skippedBackends;
  }

  get failure(): Error | undefined {
    return this.inner.failure;
  }

  /** Batches started from now on wait until release(). */
  close(): void {
    this.open = false;
  }

  /** Lets every waiting batch run, and all later ones. */
  release(): void {
    this.open = true;
    const waiting = this.waiting;
    this.waiting = [];
    for (const go of waiting) go();
  }

  get waitingBatches(): number {
    return this.waiting.length;
  }

  async run(batch: PackedBatch): Promise<Float32Array> {
    this.batchSizes.push(batch.lengths.length);
    // Kept unpacked: the inner engine may transfer (detach) the batch's buffers.
    this.batches.push(unpackBatch(batch));
    if (!this.open) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.inner.run(batch);
  }

  /** Whether the service has released the engine (its last step on close). */
  disposed = false;

  async dispose(): Promise<void> {
    this.disposed = true;
    this.release();
    await this.inner.dispose();
  }
}
