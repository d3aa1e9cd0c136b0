import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/config.js';
import { packBatch, padBatch } from '../../src/engine/packed-batch.js';
import { selectBatch, shapeOf, type BatchLimits } from '../../src/queue/batch-policy.js';
import { fittingShape } from '../../src/queue/batch-shapes.js';
import { testConfig } from '../support/config.js';

const shapes = testConfig({ BATCH_SHAPES: '8x128, 1x128,8x512,8x128' }).batchShapes ?? [];
const limits: BatchLimits = { maxBatchSize: 32, maxBatchTokens: 65536, maxPaddingRatio: 0.1, batchShapes: shapes };

/** Every batch selectBatch forms from these lengths, in turn, as the batcher would. */
function drain(lengths: number[], batchLimits: BatchLimits): number[][] {
  const queue = [...lengths];
  const batches: number[][] = [];
  while (queue.length > 0) {
    const chosen = selectBatch(queue, batchLimits);
    batches.push(chosen.map((index) => queue[index] as number));
    for (const index of [...chosen].reverse()) queue.splice(index, 1);
  }
  return batches;
}

describe('BATCH_SHAPES', () => {
  it('parses BATCHxSEQUENCE lists, smallest first, duplicates dropped', () => {
    assert.deepEqual(shapes, [
      { rows: 1, columns: 128 },
      { rows: 8, columns: 128 },
      { rows: 8, columns: 512 },
    ]);
    assert.equal(testConfig({ BATCH_SHAPES: '' }).batchShapes, undefined);
  });

  it('refuses anything that is not a shape, naming the setting and the item', () => {
    for (const raw of ['8', '8x', 'x128', '0x128', '8x128x2', '8*128', '8x70000']) {
      assert.throws(
        () => testConfig({ BATCH_SHAPES: raw }),
        (error: unknown) =>
          error instanceof ConfigError && /BATCH_SHAPES must be comma-separated BATCHxSEQUENCE/.test(error.message),
        raw,
      );
    }
  });

  it('finds the smallest shape that holds a batch', () => {
    assert.deepEqual(fittingShape(shapes, 1, 20), { rows: 1, columns: 128 });
    assert.deepEqual(fittingShape(shapes, 2, 20), { rows: 8, columns: 128 });
    assert.deepEqual(fittingShape(shapes, 2, 300), { rows: 8, columns: 512 });
    assert.equal(fittingShape(shapes, 9, 20), undefined);
    assert.equal(fittingShape(shapes, 1, 513), undefined);
  });

  it('forms only batches that fit a configured shape, whatever the queue holds', () => {
    const lengths = Array.from({ length: 200 }, (_, i) => 1 + ((i * 37) % 500));
    for (const batch of drain(lengths, limits)) {
      assert.ok(fittingShape(shapes, batch.length, Math.max(...batch)) !== undefined, `[${batch.join(', ')}]`);
    }
  });

  it('takes as many waiting texts as a shape holds, the cheaper shape among equals', () => {
    assert.deepEqual(selectBatch([20], limits), [0]);
    assert.equal(shapeOf([20], shapes).paddedTokens, 128);
    // Three short texts: one 8x128 batch rather than three 1x128 ones.
    assert.deepEqual(selectBatch([20, 30, 25], limits), [0, 1, 2]);
    // A long oldest text goes to 8x512 with up to seven others, the closest in length first.
    assert.deepEqual(selectBatch([300, 10, 290, 20], limits), [0, 1, 2, 3]);
    // Ignores MAX_PADDING_RATIO: padding within a compiled shape costs nothing more.
    assert.deepEqual(selectBatch([10, 120], limits), [0, 1]);
  });

  it('keeps within MAX_BATCH_SIZE and MAX_BATCH_TOKENS when a shape allows it', () => {
    assert.deepEqual(selectBatch([20, 20, 20], { ...limits, maxBatchSize: 2 }), [0, 1]);
    // 8x128 = 1024 tokens is over budget; 1x128 is within it.
    assert.deepEqual(selectBatch([20, 20, 20], { ...limits, maxBatchTokens: 200 }), [0]);
    // Only 8x512 holds a 300-token text; over budget, it still runs rather than never.
    assert.deepEqual(selectBatch([300, 20], { ...limits, maxBatchTokens: 200 }).includes(0), true);
  });

  it("counts a fixed shape's padding rows and columns as padding", () => {
    assert.deepEqual(shapeOf([20, 30], shapes), {
      size: 2,
      paddedTokens: 1024,
      realTokens: 50,
      paddingRatio: (1024 - 50) / 1024,
    });
  });

  it('pads a packed batch up to its shape, rows that only fill it attending to one token', () => {
    const packed = packBatch([{ ids: [101, 7, 102], typeIds: [0, 0, 0] }], { rows: 2, columns: 4 });
    const padded = padBatch(packed, 0);
    assert.equal(padded.rows, 2);
    assert.equal(padded.columns, 4);
    assert.deepEqual([...padded.ids], [101, 7, 102, 0, 0, 0, 0, 0]);
    assert.deepEqual([...padded.attentionMask], [1, 1, 1, 0, 1, 0, 0, 0]);
  });
});
