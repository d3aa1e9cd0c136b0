/**
 * The Open Inference Protocol's raw BYTES tensor layout (gRPC raw_input_contents / raw_output_contents, and REST's
 * binary tensor data): each element as a 4-byte little-endian length followed by that many bytes.
 */
export function decodeBytesTensor(raw: Buffer): string[] | { error: string } {
  const texts: string[] = [];
  let offset = 0;
  while (offset < raw.length) {
    if (offset + 4 > raw.length) return { error: `the data ends inside an element's 4-byte length at byte ${offset}` };
    const length = raw.readUInt32LE(offset);
    offset += 4;
    if (offset + length > raw.length)
      return {
        error: `the element at byte ${offset - 4} of ${length} bytes runs past the tensor's data (${raw.length - offset} remain)`,
      };
    texts.push(raw.toString('utf8', offset, offset + length));
    offset += length;
  }
  return texts;
}

export function encodeBytesTensor(values: readonly string[]): Buffer {
  const parts = values.flatMap((value) => {
    const bytes = Buffer.from(value, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(bytes.length);
    return [length, bytes];
  });
  return Buffer.concat(parts);
}

/** FP32 tensor data: 4-byte little-endian floats. */
export function encodeFp32Tensor(values: readonly number[]): Buffer {
  const buffer = Buffer.alloc(values.length * 4);
  values.forEach((value, index) => buffer.writeFloatLE(value, index * 4));
  return buffer;
}
