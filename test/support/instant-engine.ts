import type { Engine } from '../../src/engine/engine.js';
import type { PackedBatch } from '../../src/engine/packed-batch.js';

/**
 * An engine that answers at once, for tests of what surrounds the engine at volumes the real one would take
 * minutes for: a text's logits follow from its token count (even: positive), so results are still checkable.
 */
export class InstantEngine implements Engine {
  readonly kind = 'onnx';
  readonly device = 'cpu';
  readonly backend = 'instant (test)';
  readonly numLabels = 2;
  readonly instances = 1;
  readonly failure = undefined;
  readonly skippedBackends: readonly string[] = [];
  texts = 0;

  async run(batch: PackedBatch): Promise<Float32Array> {
    this.texts += batch.lengths.length;
    const logits = new Float32Array(batch.lengths.length * 2);
    batch.lengths.forEach((length, row) => {
      const positive = length % 2 === 0;
      logits[row * 2] = positive ? 0 : 1;
      logits[row * 2 + 1] = positive ? 1 : 0;
    });
    return logits;
  }

  async dispose(): Promise<void> {}
}
