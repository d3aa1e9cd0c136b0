import type { EngineKind } from '../engine/engine-choices.js';
import type { Prediction } from '../inference/postprocess.js';
import type { Model } from '../model/model.js';
import { packageVersion } from '../config/package-root.js';
import { ServiceError } from '../errors/error-codes.js';

// The Open Inference Protocol (KServe v2, Triton's HTTP/gRPC API) for this classifier, independent of the transport:
// the REST routes (src/http/routes/v2-rest.ts) and the gRPC service (src/grpc/) both translate through here.

/** The one version this server serves of its one model. */
export const modelVersion = '1';
export const serverName = 'sentiment-inference';

export const inputName = 'text';
/** Output tensors: the best label and its score per text, and every label's score in the model's label order. */
export const outputNames = ['label', 'score', 'probabilities'] as const;
export type OutputName = (typeof outputNames)[number];

export type Datatype = 'BYTES' | 'FP32';

export interface TensorMetadata {
  name: string;
  datatype: Datatype;
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

/** A request the protocol refuses: 400 for a bad request, 404 for a model or version this server does not serve. */
export class OpenInferenceError extends ServiceError {
  constructor(
    readonly statusCode: 400 | 404,
    message: string,
  ) {
    super('SENTIMENT_OPEN_INFERENCE', message);
  }
}

/** The model metadata's platform, in the names Triton and KServe use for the runtime. */
export function platformOf(engineKind: EngineKind): string {
  const platforms: Record<EngineKind, string> = {
    onnx: 'onnxruntime_onnx',
    tfjs: 'tensorflow_js',
    // The model server's own runtime is behind it; this server only relays.
    remote: 'open_inference_grpc',
  };
  return platforms[engineKind];
}

export function serverMetadata(): { name: string; version: string; extensions: string[] } {
  // Of the protocol's extensions only binary tensor data (REST) is served; shared memory, statistics and the rest
  // are not.
  return { name: serverName, version: packageVersion, extensions: ['binary_tensor_data'] };
}

export function modelMetadata(model: Pick<Model, 'name' | 'labels'>, platform: string): ModelMetadata {
  return {
    name: model.name,
    versions: [modelVersion],
    platform,
    inputs: [{ name: inputName, datatype: 'BYTES', shape: [-1] }],
    outputs: [
      { name: 'label', datatype: 'BYTES', shape: [-1] },
      { name: 'score', datatype: 'FP32', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, model.labels.length] },
    ],
  };
}

/** Refuses a model name or version this server does not serve. */
export function checkModel(model: Pick<Model, 'name'>, name: string, version: string | undefined): void {
  if (name !== model.name)
    throw new OpenInferenceError(404, `unknown model '${name}': this server serves '${model.name}'`);
  if (version !== undefined && version !== '' && version !== modelVersion) {
    throw new OpenInferenceError(
      404,
      `unknown version '${version}' of model '${name}': the served version is '${modelVersion}'`,
    );
  }
}

/** One input tensor as either transport delivers it, its data already decoded to strings. */
export interface InputTensor {
  name: string;
  datatype: string;
  shape: readonly number[];
  texts: readonly string[];
}

/** The texts of an inference request: exactly one BYTES input named `text`, of shape [N] or [N, 1]. */
export function textsOf(inputs: readonly InputTensor[]): string[] {
  if (inputs.length !== 1 || inputs[0] === undefined) {
    throw new OpenInferenceError(400, `expected exactly one input, '${inputName}'; got ${inputs.length}`);
  }
  const input = inputs[0];
  if (input.name !== inputName)
    throw new OpenInferenceError(400, `unexpected input '${input.name}': the model's input is '${inputName}'`);
  if (input.datatype !== 'BYTES') {
    throw new OpenInferenceError(
      400,
      `input '${inputName}' must have datatype BYTES (UTF-8 texts); got ${input.datatype}`,
    );
  }
  const { shape } = input;
  const validShape =
    (shape.length === 1 || (shape.length === 2 && shape[1] === 1)) &&
    shape.every((size) => Number.isInteger(size) && size >= 0);
  if (!validShape) {
    throw new OpenInferenceError(400, `input '${inputName}' must have shape [N] or [N, 1]; got [${shape.join(', ')}]`);
  }
  if (shape[0] !== input.texts.length) {
    throw new OpenInferenceError(
      400,
      `input '${inputName}' has shape [${shape.join(', ')}] but ${input.texts.length} element${input.texts.length === 1 ? '' : 's'}`,
    );
  }
  if (input.texts.length === 0) throw new OpenInferenceError(400, `input '${inputName}' has no texts`);
  return [...input.texts];
}

/** The requested outputs, in the order asked; all of them when none is named. */
export function requestedOutputs(names: readonly string[] | undefined): OutputName[] {
  if (names === undefined || names.length === 0) return [...outputNames];
  return names.map((name) => {
    if (!(outputNames as readonly string[]).includes(name)) {
      throw new OpenInferenceError(400, `unknown output '${name}': the model's outputs are ${outputNames.join(', ')}`);
    }
    return name as OutputName;
  });
}

export interface OutputTensor {
  name: OutputName;
  datatype: Datatype;
  shape: number[];
  /** BYTES: strings; FP32: numbers already rounded to single precision. */
  data: string[] | number[];
}

/** Each text's predictions (every label, any order) as the requested output tensors. */
export function outputTensors(
  predictions: readonly (readonly Prediction[])[],
  labels: readonly string[],
  names: readonly OutputName[],
): OutputTensor[] {
  const count = predictions.length;
  const best = predictions.map((row) => row.reduce((top, p) => (p.score > top.score ? p : top)));
  return names.map((name): OutputTensor => {
    switch (name) {
      case 'label':
        return { name, datatype: 'BYTES', shape: [count], data: best.map((p) => p.label) };
      case 'score':
        return { name, datatype: 'FP32', shape: [count], data: best.map((p) => Math.fround(p.score)) };
      case 'probabilities':
        return {
          name,
          datatype: 'FP32',
          shape: [count, labels.length],
          data: predictions.flatMap((row) =>
            labels.map((label) => Math.fround(row.find((p) => p.label === label)?.score ?? NaN)),
          ),
        };
    }
  });
}
