import * as ort from 'onnxruntime-node';
import type { Device } from '../engine-choices.js';
import { widenToInt64 } from '../int64-tokens.js';
import type { Model } from '../../model/model.js';
import { padBatch, type PackedBatch } from '../packed-batch.js';
import type { Engine } from '../engine.js';
import { cudaDriverTooOld } from './cuda-driver-floor.js';
import { cudaFailureHint } from './cuda-hint.js';
import { cudaProviderInstalled, executionProvidersFor, onnxRuntimeBinaryDir } from './execution-providers.js';
import { DeviceUnavailableError } from '../gpu-device.js';
import { warmUp } from '../warm-up.js';

export interface OnnxEngineOptions {
  device: Device;
  intraOpThreads: number | undefined;
  interOpThreads: number | undefined;
}

/** The inputs a Hugging Face sequence-classification export may declare; each is filled from the padded batch. */
const knownInputs = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
type KnownInput = (typeof knownInputs)[number];
type IntegerType = 'int64' | 'int32';

interface InputSpec {
  name: KnownInput;
  type: IntegerType;
}

/** An int64 tensor of a padded int32 matrix. */
function int64Tensor(values: Int32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('int64', widenToInt64(values), dims);
}

function inputSpecsOf(session: ort.InferenceSession, path: string): InputSpec[] {
  return session.inputNames.map((name, index) => {
    if (!(knownInputs as readonly string[]).includes(name)) {
      throw new Error(`${path}: model input "${name}" is not supported (supported: ${knownInputs.join(', ')})`);
    }
    const metadata = session.inputMetadata[index];
    const type = metadata?.isTensor ? metadata.type : 'int64';
    if (type !== 'int64' && type !== 'int32') {
      throw new Error(`${path}: model input "${name}" has type ${type}; only int64 and int32 are supported`);
    }
    return { name: name as KnownInput, type };
  });
}

class OnnxEngine implements Engine {
  readonly kind = 'onnx';
  readonly instances = 1;
  readonly failure = undefined;
  readonly skippedBackends: readonly string[] = [];

  constructor(
    private readonly session: ort.InferenceSession,
    readonly numLabels: number,
    private readonly inputs: readonly InputSpec[],
    private readonly outputName: string,
    private readonly padTokenId: number,
    readonly device: Device,
    readonly backend: string,
  ) {}

  async run(batch: PackedBatch): Promise<Float32Array> {
    const padded = padBatch(batch, this.padTokenId);
    const { rows, columns } = padded;
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of this.inputs) {
      const values =
        input.name === 'input_ids'
          ? padded.ids
          : input.name === 'token_type_ids'
            ? padded.typeIds
            : padded.attentionMask;
      feeds[input.name] =
        input.type === 'int32'
          ? new ort.Tensor('int32', values, [rows, columns])
          : int64Tensor(values, [rows, columns]);
    }
    const outputs = await this.session.run(feeds, [this.outputName]);
    const logits = outputs[this.outputName];
    const expected = [rows, this.numLabels];
    if (logits?.type !== 'float32' || logits.dims.join() !== expected.join()) {
      throw new Error(
        `model output "${this.outputName}" should be float32 [${expected.join(', ')}] (one logit per label in ` +
          `config.json id2label), got ${logits?.type} [${logits?.dims.join(', ')}]`,
      );
    }
    return logits.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

async function createSession(path: string, options: OnnxEngineOptions): Promise<ort.InferenceSession> {
  const executionProviders = executionProvidersFor(options.device, cudaProviderInstalled(onnxRuntimeBinaryDir()));
  const oldDriver = options.device === 'cuda' ? cudaDriverTooOld() : undefined;
  if (oldDriver) throw new DeviceUnavailableError(oldDriver);
  try {
    return await ort.InferenceSession.create(path, {
      executionProviders,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // Idle intra-op threads sleep instead of spinning. Spinning burns a core between batches, and on a small
      // machine that core is the one parsing HTTP and tokenizing (bench/README.md has the measurement).
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      ...(options.intraOpThreads === undefined ? {} : { intraOpNumThreads: options.intraOpThreads }),
      ...(options.interOpThreads === undefined ? {} : { interOpNumThreads: options.interOpThreads }),
    });
  } catch (error) {
    if (options.device !== 'cpu') {
      throw new DeviceUnavailableError(
        `DEVICE=${options.device}: ONNX Runtime could not start the ${executionProviders.join(', ')} execution provider: ${(error as Error).message}` +
          (options.device === 'cuda' ? cudaFailureHint() : ''),
      );
    }
    throw new Error(`${path}: ONNX Runtime could not load the model: ${(error as Error).message}`);
  }
}

/** Loads the model's ONNX file and warms the session up; resolves only once the engine can serve. */
export async function createOnnxEngine(model: Model, options: OnnxEngineOptions): Promise<Engine> {
  const session = await createSession(model.onnxPath, options);
  try {
    const inputs = inputSpecsOf(session, model.onnxPath);
    if (!inputs.some((input) => input.name === 'input_ids'))
      throw new Error(`${model.onnxPath}: model has no input_ids input`);
    const outputName = session.outputNames.includes('logits') ? 'logits' : session.outputNames[0];
    if (outputName === undefined) throw new Error(`${model.onnxPath}: model has no outputs`);
    const engine = new OnnxEngine(
      session,
      model.labels.length,
      inputs,
      outputName,
      model.tokenizer.padTokenId,
      options.device,
      `onnxruntime-node ${ort.env.versions.node ?? 'unknown'} ${options.device}`,
    );
    await warmUp(engine, model.tokenizer, model.maxLengthSource);
    return engine;
  } catch (error) {
    await session.release();
    throw error;
  }
}
