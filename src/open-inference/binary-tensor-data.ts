import { OpenInferenceError, type OutputTensor } from './protocol.js';
import { decodeBytesTensor, encodeBytesTensor, encodeFp32Tensor } from './tensor-bytes.js';

// The binary tensor data extension of the Open Inference Protocol's REST API (Triton's and tritonclient's default):
// the body is a JSON header of `Inference-Header-Content-Length` bytes followed by the tensors' raw data, in the
// order of the tensors that declare `binary_data_size`. BYTES elements are each a 4-byte little-endian length and
// that many bytes; FP32 elements are 4-byte little-endian floats.

export const headerLengthHeader = 'inference-header-content-length';

interface BinaryInput {
  name?: unknown;
  datatype?: unknown;
  parameters?: Record<string, unknown>;
  data?: unknown;
}

/**
 * Reads a request body that uses binary tensor data: parses the JSON header, then decodes each input that declares
 * `binary_data_size` into the JSON `data` it stands for (BYTES only; this model has no other input), so the rest
 * of the route sees one request shape whichever way the texts came.
 */
export function decodeBinaryRequest(body: Buffer, headerLengthValue: string): unknown {
  const headerLength = Number(headerLengthValue);
  if (!Number.isInteger(headerLength) || headerLength <= 0 || headerLength > body.length) {
    throw new OpenInferenceError(
      400,
      `${headerLengthHeader} must be the JSON header's length in bytes, 1 to ${body.length}; got '${headerLengthValue}'`,
    );
  }
  let header: { inputs?: unknown };
  try {
    header = JSON.parse(body.toString('utf8', 0, headerLength)) as { inputs?: unknown };
  } catch {
    throw new OpenInferenceError(400, `the first ${headerLength} bytes (${headerLengthHeader}) are not valid JSON`);
  }
  let offset = headerLength;
  const inputs = Array.isArray(header?.inputs) ? (header.inputs as BinaryInput[]) : [];
  for (const input of inputs) {
    const size = input?.parameters?.binary_data_size;
    if (size === undefined) continue;
    const what = `input '${String(input.name)}'`;
    if (!Number.isInteger(size) || (size as number) < 0 || offset + (size as number) > body.length) {
      throw new OpenInferenceError(400, `${what}: binary_data_size ${String(size)} does not fit the body`);
    }
    if (input.datatype !== 'BYTES') {
      throw new OpenInferenceError(
        400,
        `${what} must have datatype BYTES (UTF-8 texts); got ${String(input.datatype)}`,
      );
    }
    const texts = decodeBytesTensor(body.subarray(offset, offset + (size as number)));
    if (!Array.isArray(texts)) throw new OpenInferenceError(400, `${what}: ${texts.error}`);
    input.data = texts;
    delete input.parameters?.binary_data_size;
    offset += size as number;
  }
  if (offset !== body.length) {
    throw new OpenInferenceError(400, `${body.length - offset} bytes after the last binary input are not claimed`);
  }
  return header;
}

function tensorBytes(tensor: OutputTensor): Buffer {
  return tensor.datatype === 'BYTES'
    ? encodeBytesTensor(tensor.data as string[])
    : encodeFp32Tensor(tensor.data as number[]);
}

/**
 * A response whose outputs are (some or all) binary: the JSON header, in which each binary output has
 * `parameters.binary_data_size` instead of `data`, then those outputs' bytes in order.
 */
export function encodeBinaryResponse(
  header: Record<string, unknown>,
  outputs: readonly OutputTensor[],
  isBinary: (output: OutputTensor) => boolean,
): { body: Buffer; headerLength: number } {
  const blobs: Buffer[] = [];
  const described = outputs.map((output) => {
    if (!isBinary(output)) return output;
    const bytes = tensorBytes(output);
    blobs.push(bytes);
    return {
      name: output.name,
      datatype: output.datatype,
      shape: output.shape,
      parameters: { binary_data_size: bytes.length },
    };
  });
  const json = Buffer.from(JSON.stringify({ ...header, outputs: described }), 'utf8');
  return { body: Buffer.concat([json, ...blobs]), headerLength: json.length };
}
