import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packBatch, padBatch } from '../../../src/engine/packed-batch.js';
import { decodeLogits, encodeTokenInputs } from '../../../src/engine/remote/token-tensors.js';

describe('remote token tensors', () => {
  const padded = padBatch(
    packBatch([
      { ids: [101, 2023, 102], typeIds: [0, 0, 0] },
      { ids: [101, 102], typeIds: [0, 0] },
    ]),
    0,
  );

  it('sends each input as little-endian INT64 or INT32, row-major', () => {
    const [ids, mask] = encodeTokenInputs(padded, [
      { name: 'input_ids', datatype: 'INT64' },
      { name: 'attention_mask', datatype: 'INT32' },
    ]);
    assert.equal(ids?.length, 6 * 8);
    assert.deepEqual(
      Array.from({ length: 6 }, (_, i) => Number(ids?.readBigInt64LE(i * 8))),
      [101, 2023, 102, 101, 102, 0],
    );
    assert.deepEqual(
      Array.from({ length: 6 }, (_, i) => mask?.readInt32LE(i * 4)),
      [1, 1, 1, 1, 1, 0],
    );
  });

  it('widens negative values with their sign (INT64)', () => {
    const signed = { ...padded, ids: Int32Array.from([-1, -2_000_000_000, 7, 0, 1, 2]) };
    const [ids] = encodeTokenInputs(signed, [{ name: 'input_ids', datatype: 'INT64' }]);
    assert.deepEqual(
      Array.from({ length: 6 }, (_, i) => Number(ids?.readBigInt64LE(i * 8))),
      [-1, -2_000_000_000, 7, 0, 1, 2],
    );
  });

  it('reads FP32 logits, and FP16 widened to FP32', () => {
    const fp32 = Buffer.alloc(8);
    fp32.writeFloatLE(-1.5, 0);
    fp32.writeFloatLE(2.25, 4);
    assert.deepEqual([...decodeLogits(fp32, 'FP32')], [-1.5, 2.25]);
    // Half precision: 0x3c00 = 1, 0xc100 = -2.5, 0x0001 = the smallest subnormal, 0x7c00 = Infinity.
    const fp16 = Buffer.from(new Uint16Array([0x3c00, 0xc100, 0x0001, 0x7c00]).buffer);
    assert.deepEqual([...decodeLogits(fp16, 'FP16')], [1, -2.5, Math.fround(2 ** -24), Infinity]);
  });
});
