import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectBatch, shapeOf, type BatchLimits } from '../../src/queue/batch-policy.js';

const roomy: BatchLimits = { maxBatchSize: 32, maxBatchTokens: 8192, maxPaddingRatio: 0.5 };

describe('shapeOf', () => {
  it('counts padded tokens as longest × size and the padding share of them', () => {
    assert.deepEqual(shapeOf([10, 30, 20]), { size: 3, paddedTokens: 90, realTokens: 60, paddingRatio: 30 / 90 });
    assert.deepEqual(shapeOf([7]), { size: 1, paddedTokens: 7, realTokens: 7, paddingRatio: 0 });
  });
});

describe('selectBatch', () => {
  it('takes nothing from an empty queue', () => {
    assert.deepEqual(selectBatch([], roomy), []);
  });

  it('takes the whole queue when it fits every limit', () => {
    assert.deepEqual(selectBatch([12, 10, 14, 11], roomy), [0, 1, 2, 3]);
  });

  it('stops at maxBatchSize, keeping the oldest and those closest to it in length', () => {
    const chosen = selectBatch([20, 50, 21, 5, 19, 22], { ...roomy, maxBatchSize: 3 });
    assert.deepEqual(chosen, [0, 2, 4]);
  });

  it('keeps padded tokens (longest × count) within maxBatchTokens', () => {
    const chosen = selectBatch([40, 40, 40, 40, 40], { ...roomy, maxBatchTokens: 120 });
    assert.deepEqual(chosen, [0, 1, 2]);
    assert.ok(shapeOf(chosen.map(() => 40)).paddedTokens <= 120);
  });

  it('always includes the oldest entry, even when it alone exceeds maxBatchTokens', () => {
    assert.deepEqual(selectBatch([500, 10, 10], { ...roomy, maxBatchTokens: 100 }), [0]);
  });

  it('groups by length: short texts are not padded to a long one', () => {
    const lengths = [10, 100, 11, 12, 99];
    const first = selectBatch(lengths, roomy);
    assert.deepEqual(first, [0, 2, 3]);
    const rest = lengths.filter((_, index) => !first.includes(index));
    assert.deepEqual(selectBatch(rest, roomy), [0, 1]);
  });

  it('keeps every batch at or below maxPaddingRatio', () => {
    const lengths = [30, 5, 64, 8, 31, 60, 12, 33, 7, 64, 2, 40];
    let queue = lengths;
    while (queue.length > 0) {
      const chosen = selectBatch(queue, roomy);
      assert.ok(chosen.includes(0), 'the oldest entry is always in the batch');
      assert.ok(shapeOf(chosen.map((index) => queue[index] as number)).paddingRatio <= 0.5);
      queue = queue.filter((_, index) => !chosen.includes(index));
    }
  });

  it('passes over an entry that breaks a limit and still takes a later one that fits', () => {
    // 50 is closer to 30 than 5 is, but would make 2 × 50 = 100 padded tokens; 5 comes next and fits.
    assert.deepEqual(selectBatch([30, 50, 5], { ...roomy, maxBatchTokens: 90, maxPaddingRatio: 1 }), [0, 2]);
  });

  it('with maxPaddingRatio 1 batches by arrival only, whatever the lengths', () => {
    assert.deepEqual(selectBatch([10, 100, 11], { ...roomy, maxPaddingRatio: 1 }), [0, 1, 2]);
  });

  it('prefers older entries among equally close ones', () => {
    assert.deepEqual(selectBatch([10, 12, 8, 12, 8], { ...roomy, maxBatchSize: 3 }), [0, 1, 2]);
  });
});
