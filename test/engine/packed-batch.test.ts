import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buffersOf, packBatch, padBatch, unpackBatch } from '../../src/engine/packed-batch.js';

describe('packed batch', () => {
  const texts = [
    { ids: [101, 7, 8, 102], typeIds: [0, 0, 0, 0] },
    { ids: [101, 102], typeIds: [0, 1] },
  ];

  it('lays the texts end to end in typed arrays, and gives them back', () => {
    const packed = packBatch(texts);
    assert.deepEqual(Array.from(packed.lengths), [4, 2]);
    assert.deepEqual(Array.from(packed.ids), [101, 7, 8, 102, 101, 102]);
    assert.deepEqual(Array.from(packed.typeIds ?? []), [0, 0, 0, 0, 0, 1]);
    assert.deepEqual(unpackBatch(packed), texts);
    assert.equal(buffersOf(packed).length, 3);
    assert.equal(buffersOf(packBatch([{ ids: [1], typeIds: undefined }])).length, 2);
  });

  it('pads to the longest text: pad id, segment 0 and attention 0 past each end', () => {
    const padded = padBatch(packBatch(texts), 9);
    assert.equal(padded.rows, 2);
    assert.equal(padded.columns, 4);
    assert.deepEqual(Array.from(padded.ids), [101, 7, 8, 102, 101, 102, 9, 9]);
    assert.deepEqual(Array.from(padded.typeIds), [0, 0, 0, 0, 0, 1, 0, 0]);
    assert.deepEqual(Array.from(padded.attentionMask), [1, 1, 1, 1, 1, 1, 0, 0]);
  });

  it('gives zero segment ids when the texts have none', () => {
    const padded = padBatch(
      packBatch([
        { ids: [5, 6], typeIds: undefined },
        { ids: [5], typeIds: undefined },
      ]),
      0,
    );
    assert.deepEqual(Array.from(padded.typeIds), [0, 0, 0, 0]);
    assert.deepEqual(Array.from(padded.attentionMask), [1, 1, 1, 0]);
  });
});
