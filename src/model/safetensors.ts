import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { ServiceError } from '../errors/error-codes.js';

/** A tensor read from a safetensors file, converted to float32 whatever it was stored as. */
export interface Float32Tensor {
  shape: number[];
  data: Float32Array;
}

interface Entry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export class SafetensorsError extends ServiceError {
  constructor(path: string, problem: string) {
    super('SENTIMENT_SAFETENSORS', `${path}: ${problem}`);
  }
}

const bytesPerElement: Record<string, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};
const convertible = new Set(['F32', 'F16', 'BF16']);
const littleEndian = endianness() === 'LE';

// Every float16 bit pattern decoded once: a lookup is far cheaper than decoding each of millions of weights.
let float16Table: Float32Array | undefined;

function decodeFloat16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function float16ToFloat32(): Float32Array {
  if (float16Table === undefined) {
    float16Table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) float16Table[bits] = decodeFloat16(bits);
  }
  return float16Table;
}

/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header length, a JSON
 * header naming each tensor's dtype, shape and byte range, then the raw little-endian data. Only what an encoder
 * needs is decoded, on request: F32, F16 and BF16, each returned as float32.
 */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly bytes: Buffer,
    private readonly dataStart: number,
    private readonly entries: ReadonlyMap<string, Entry>,
  ) {}

  static read(path: string): SafetensorsFile {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      throw new SafetensorsError(path, `cannot be read (${(error as Error).message})`);
    }
    return SafetensorsFile.parse(path, bytes);
  }

  static parse(path: string, bytes: Buffer): SafetensorsFile {
    if (bytes.length < 8) throw new SafetensorsError(path, 'is too short to be a safetensors file');
    const headerLength = bytes.readBigUInt64LE(0);
    if (headerLength > BigInt(bytes.length - 8)) {
      throw new SafetensorsError(path, `header length ${headerLength} exceeds the file (${bytes.length} bytes)`);
    }
    const dataStart = 8 + Number(headerLength);
    let header: unknown;
    try {
      header = JSON.parse(bytes.toString('utf8', 8, dataStart));
    } catch (error) {
      throw new SafetensorsError(path, `header is not valid JSON (${(error as Error).message})`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      throw new SafetensorsError(path, 'header is not a JSON object');
    }

    const entries = new Map<string, Entry>();
    const dataLength = bytes.length - dataStart;
    for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
      // Free-form strings (the format, the library that wrote it); nothing here reads them.
      if (name === '__metadata__') continue;
      const { dtype, shape, data_offsets: offsets } = (value ?? {}) as Record<string, unknown>;
      const validShape = Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
      const validOffsets =
        Array.isArray(offsets) &&
        offsets.length === 2 &&
        offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0);
      if (typeof dtype !== 'string' || !validShape || !validOffsets) {
        throw new SafetensorsError(path, `tensor "${name}" has no valid dtype, shape and data_offsets`);
      }
      const [begin, end] = offsets as [number, number];
      const count = (shape as number[]).reduce((a, b) => a * b, 1);
      const width = bytesPerElement[dtype];
      if (end < begin || end > dataLength || (width !== undefined && end - begin !== count * width)) {
        throw new SafetensorsError(
          path,
          `tensor "${name}": data_offsets [${begin}, ${end}] do not fit its ${dtype} ${JSON.stringify(shape)}`,
        );
      }
      entries.set(name, { dtype, shape: shape as number[], begin, end });
    }
    return new SafetensorsFile(path, bytes, dataStart, entries);
  }

  get names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  dtypeOf(name: string): string | undefined {
    return this.entries.get(name)?.dtype;
  }

  /** The tensor as float32; an error names the file and the tensor when it is missing or not a float type. */
  get(name: string): Float32Tensor {
    const entry = this.entries.get(name);
    if (entry === undefined) throw new SafetensorsError(this.path, `has no tensor "${name}"`);
    if (!convertible.has(entry.dtype)) {
      throw new SafetensorsError(this.path, `tensor "${name}" is ${entry.dtype}; only F32, F16 and BF16 are supported`);
    }
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const start = this.dataStart + entry.begin;
    const data = new Float32Array(count);
    switch (entry.dtype) {
      case 'F32': {
        const offset = this.bytes.byteOffset + start;
        // Aligned data on a little-endian host is copied as it is; otherwise it is read value by value.
        if (littleEndian && offset % 4 === 0) data.set(new Float32Array(this.bytes.buffer, offset, count));
        else for (let i = 0; i < count; i++) data[i] = this.bytes.readFloatLE(start + i * 4);
        break;
      }
      case 'F16': {
        const table = float16ToFloat32();
        for (let i = 0; i < count; i++) data[i] = table[this.bytes.readUInt16LE(start + i * 2)] as number;
        break;
      }
      case 'BF16': {
        // bfloat16 is the top half of a float32: shift it back into place.
        const bits = new Uint32Array(data.buffer);
        for (let i = 0; i < count; i++) bits[i] = this.bytes.readUInt16LE(start + i * 2) << 16;
        break;
      }
    }
    return { shape: [...entry.shape], data };
  }
}
