import { endianness } from 'node:os';

/** Host byte order; INT64 tensors on the wire (Open Inference raw contents) are little-endian whatever the host. */
export const littleEndian = endianness() === 'LE';

/**
 * Token values (int32) widened to an int64 array in host byte order. On little-endian hosts the values go through an
 * Int32Array view of the same memory (low word, then the sign as the high word), which avoids one BigInt per token.
 */
export function widenToInt64(values: Int32Array): BigInt64Array {
  const int64 = new BigInt64Array(values.length);
  if (littleEndian) {
    const words = new Int32Array(int64.buffer);
    for (let i = 0; i < values.length; i++) {
      const value = values[i] as number;
      words[i * 2] = value;
      if (value < 0) words[i * 2 + 1] = -1;
    }
  } else {
    for (let i = 0; i < values.length; i++) int64[i] = BigInt(values[i] as number);
  }
  return int64;
}
