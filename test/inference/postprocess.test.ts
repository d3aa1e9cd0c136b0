import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { predictionsOf } from '../../src/inference/postprocess.js';

const sentiment = { labels: ['NEGATIVE', 'POSITIVE'], scoring: 'softmax' as const };

describe('predictionsOf', () => {
  it('turns logits into softmax scores, best label first', () => {
    const [best, other] = predictionsOf(Float32Array.of(-1, 2), sentiment, 2);
    assert.equal(best?.label, 'POSITIVE');
    assert.ok(Math.abs((best?.score ?? 0) - Math.exp(2) / (Math.exp(-1) + Math.exp(2))) < 1e-12);
    assert.equal(other?.label, 'NEGATIVE');
    assert.ok(Math.abs((best?.score ?? 0) + (other?.score ?? 0) - 1) < 1e-12);
  });

  it('keeps the top k', () => {
    assert.deepEqual(
      predictionsOf(Float32Array.of(3, 0), sentiment, 1).map((p) => p.label),
      ['NEGATIVE'],
    );
    assert.equal(predictionsOf(Float32Array.of(3, 0), sentiment, 5).length, 2);
  });

  it('stays finite for extreme logits', () => {
    const [best] = predictionsOf(Float32Array.of(1000, -1000), sentiment, 1);
    assert.equal(best?.score, 1);
  });

  it('scores each label with a sigmoid for multi-label models', () => {
    const scores = predictionsOf(Float32Array.of(0, 0, 10), { labels: ['a', 'b', 'c'], scoring: 'sigmoid' }, 3);
    assert.equal(scores[0]?.label, 'c');
    assert.equal(scores[1]?.score, 0.5);
    assert.equal(scores[2]?.score, 0.5);
  });
});

describe('predictionsOf with a scoring chosen by the request', () => {
  it("'none' keeps the raw logits, best first; 'sigmoid' overrides the model's softmax", () => {
    assert.deepEqual(predictionsOf(Float32Array.of(-1, 2), sentiment, 2, 'none'), [
      { label: 'POSITIVE', score: 2 },
      { label: 'NEGATIVE', score: -1 },
    ]);
    const [best] = predictionsOf(Float32Array.of(0, 0), sentiment, 1, 'sigmoid');
    assert.equal(best?.score, 0.5);
  });
});
