import { littleEndian, widenToInt64 } from '../int64-tokens.js';
import type { PaddedBatch } from '../packed-batch.js';
import type { RemoteContract, TokenInput } from './remote-contract.js';

/** A padded batch as the raw_input_contents of the remote's inputs: little-endian INT64 or INT32, row-major. */
export function encodeTokenInputs(padded: PaddedBatch, inputs: RemoteContract['inputs']): Buffer[] {
  const source: Record<TokenInput, Int32Array> = {
    input_ids: padded.ids,
    attention_mask: padded.attentionMask,
    token_type_ids: padded.typeIds,
  };
  return inputs.map(({ name, datatype }) => {
    const values = source[name];
    if (datatype === 'INT32') {
      const narrow = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
      return littleEndian ? narrow : Buffer.from(narrow).swap32();
    }
    const wide = Buffer.from(widenToInt64(values).buffer);
    return littleEndian ? wide : wide.swap64();
  });
}

/** Logits from raw_output_contents: FP32, or FP16 widened, as one Float32Array. */
export function decodeLogits(raw: Buffer, datatype: RemoteContract['output']['datatype']): Float32Array {
  if (datatype === 'FP32') {
    // Copied: the buffer may not be 4-byte aligned, and the logits outlive the response.
    const logits = new Float32Array(raw.length / 4);
    for (let index = 0; index < logits.length; index++) logits[index] = raw.readFloatLE(index * 4);
    return logits;
  }
  const logits = new Float32Array(raw.length / 2);
  for (let index = 0; index < logits.length; index++) logits[index] = halfToFloat(raw.readUInt16LE(index * 2));
  return logits;
}

/** IEEE 754 half precision to a number. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
