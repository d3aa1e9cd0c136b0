import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SafetensorsError, SafetensorsFile } from '../../src/model/safetensors.js';

interface Stored {
  dtype: string;
  shape: number[];
  bytes: Buffer;
}

/** A safetensors file as the format describes it, built by hand so each case controls every byte. */
function file(tensors: Record<string, Stored>, header?: string): Buffer {
  let offset = 0;
  const entries: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  for (const [name, t] of Object.entries(tensors)) {
    entries[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  const json = Buffer.from(header ?? JSON.stringify(entries));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, ...Object.values(tensors).map((t) => t.bytes)]);
}

function words16(values: number[]): Buffer {
  const bytes = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => bytes.writeUInt16LE(v, i * 2));
  return bytes;
}

describe('SafetensorsFile', () => {
  it('reads F32 tensors with their shapes, even when the data is not 4-byte aligned', () => {
    const values = [1.5, -2.25, 3.0e-8, 65504, -0, 123456.789];
    const bytes = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
    // A 2-byte tensor first leaves the F32 data at an odd multiple of 2 from the data start.
    const parsed = SafetensorsFile.parse(
      'm',
      file({ pad: { dtype: 'F16', shape: [1], bytes: words16([0]) }, w: { dtype: 'F32', shape: [2, 3], bytes } }),
    );
    const w = parsed.get('w');
    assert.deepEqual(w.shape, [2, 3]);
    assert.deepEqual(
      Array.from(w.data),
      values.map((v) => Math.fround(v)),
    );
    // The __metadata__ entry (format: pt) is not a tensor.
    assert.deepEqual(parsed.names.sort(), ['pad', 'w']);
  });

  it('decodes F16: normals, subnormals, signed zeros, infinities and NaN', () => {
    const cases: [number, number][] = [
      [0x3c00, 1],
      [0xc000, -2],
      [0x3555, 0.333251953125],
      [0x7bff, 65504],
      [0x0001, 2 ** -24], // smallest subnormal
      [0x03ff, 1023 * 2 ** -24], // largest subnormal
      [0x0400, 2 ** -14], // smallest normal
      [0x8000, -0],
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
    ];
    const parsed = SafetensorsFile.parse(
      'm',
      file({
        h: { dtype: 'F16', shape: [cases.length + 1], bytes: words16([...cases.map(([bits]) => bits), 0x7e00]) },
      }),
    );
    const data = parsed.get('h').data;
    cases.forEach(([bits, expected], i) =>
      assert.ok(Object.is(data[i], expected), `0x${bits.toString(16)} -> ${data[i]}, expected ${expected}`),
    );
    assert.ok(Number.isNaN(data[cases.length]));
  });

  it('decodes BF16 as the top half of a float32', () => {
    const values = [1, -2.5, 3.140625, -0.0078125, 1e30];
    const bits = values.map((v) => {
      const view = new DataView(new ArrayBuffer(4));
      view.setFloat32(0, v, true);
      return view.getUint32(0, true) >>> 16;
    });
    const data = SafetensorsFile.parse(
      'm',
      file({ b: { dtype: 'BF16', shape: [values.length], bytes: words16(bits) } }),
    ).get('b').data;
    const expected = bits.map((b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]);
    assert.deepEqual(Array.from(data), expected);
    assert.deepEqual(Array.from(data.slice(0, 4)), [1, -2.5, 3.140625, -0.0078125]);
  });

  it('names the file and the tensor when a tensor is missing or of an unsupported dtype', () => {
    const parsed = SafetensorsFile.parse(
      'dir/model.safetensors',
      file({ ids: { dtype: 'I64', shape: [2], bytes: Buffer.alloc(16) } }),
    );
    assert.equal(parsed.dtypeOf('ids'), 'I64'); // present tensors of other dtypes (position_ids buffers) are fine…
    assert.throws(
      () => parsed.get('ids'),
      /dir\/model\.safetensors: tensor "ids" is I64; only F32, F16 and BF16 are supported/,
    );
    assert.throws(() => parsed.get('classifier.weight'), /dir\/model\.safetensors: has no tensor "classifier.weight"/);
  });

  it('refuses truncated or malformed files', () => {
    const good = file({ w: { dtype: 'F32', shape: [2], bytes: Buffer.alloc(8) } });
    assert.throws(() => SafetensorsFile.parse('m', Buffer.alloc(4)), SafetensorsError);
    assert.throws(() => SafetensorsFile.parse('m', good.subarray(0, good.length - 4)), /do not fit/);
    assert.throws(() => SafetensorsFile.parse('m', file({}, '{"w": ')), /header is not valid JSON/);
    assert.throws(() => SafetensorsFile.parse('m', file({}, '[1, 2]')), /header is not a JSON object/);
    assert.throws(
      () => SafetensorsFile.parse('m', file({}, '{"w": {"dtype": "F32", "shape": [2]}}')),
      /no valid dtype, shape and data_offsets/,
    );
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(1000n);
    assert.throws(() => SafetensorsFile.parse('m', huge), /header length 1000 exceeds the file/);
    assert.throws(() => SafetensorsFile.read('/nonexistent/model.safetensors'), /cannot be read/);
  });
});
