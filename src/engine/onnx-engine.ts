import { endianness } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { Device } from '../config.js';
import type { Model } from '../model/model.js';
import type { EncodedText } from '../model/tokenizer.js';
import type { Engine } from './engine.js';
import { cudaFailureHint } from './cuda-hint.js';
import {
  cudaProviderInstalled,
  DeviceUnavailableError,
  executionProvidersFor,
  onnxRuntimeBinaryDir,
} from './execution-providers.js';
import { warmUp } from './warm-up.js';

export interface OnnxEngineOptions {
  device: Device;
  intraOpThreads: number | undefined;
  interOpThreads: number | undefined;
}

/** The inputs a Hugging Face sequence-classification export may declare; each is filled from an EncodedText. */
const knownInputs = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
type KnownInput = (typeof knownInputs)[number];
type IntegerType = 'int64' | 'int32';

interface InputSpec {
  name: KnownInput;
  type: IntegerType;
}

const littleEndian = endianness() === 'LE';

/**
 * A padded [rows × columns] integer matrix. int64 values are written through an Int32Array view of the same
 * memory (low word; ids are far below 2^31), which avoids one BigInt per token.
 */
class IntegerMatrix {
  private readonly int32: Int32Array;
  private readonly int64: BigInt64Array | undefined;

  constructor(
    readonly type: IntegerType,
    private readonly rows: number,
    private readonly columns: number,
    fill: number,
  ) {
    if (type === 'int64') {
      this.int64 = new BigInt64Array(rows * columns);
      this.int32 = new Int32Array(this.int64.buffer);
      if (fill !== 0) this.int64.fill(BigInt(fill));
    } else {
      this.int32 = new Int32Array(rows * columns);
      if (fill !== 0) this.int32.fill(fill);
    }
  }

  set(row: number, column: number, value: number): void {
    const index = row * this.columns + column;
    if (this.int64 === undefined) this.int32[index] = value;
    else if (littleEndian) this.int32[index * 2] = value;
    else this.int64[index] = BigInt(value);
  }

  toTensor(): ort.Tensor {
    const dims = [this.rows, this.columns];
    return this.int64 === undefined ? new ort.Tensor('int32', this.int32, dims) : new ort.Tensor('int64', this.int64, dims);
  }
}

function inputSpecsOf(session: ort.InferenceSession, path: string): InputSpec[] {
  return session.inputNames.map((name, index) => {
    if (!(knownInputs as readonly string[]).includes(name)) {
      throw new Error(`${path}: model input "${name}" is not supported (supported: ${knownInputs.join(', ')})`);
    }
    const metadata = session.inputMetadata[index];
    const type = metadata !== undefined && metadata.isTensor ? metadata.type : 'int64';
    if (type !== 'int64' && type !== 'int32') {
      throw new Error(`${path}: model input "${name}" has type ${type}; only int64 and int32 are supported`);
    }
    return { name: name as KnownInput, type };
  });
}

class OnnxEngine implements Engine {
  readonly kind = 'onnx';

  constructor(
    private readonly session: ort.InferenceSession,
    readonly numLabels: number,
    private readonly inputs: readonly InputSpec[],
    private readonly outputName: string,
    private readonly padTokenId: number,
    readonly device: Device,
    readonly backend: string,
  ) {}

  async run(batch: readonly EncodedText[]): Promise<Float32Array> {
    const rows = batch.length;
    const columns = Math.max(...batch.map((text) => text.ids.length));
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of this.inputs) {
      const fill = input.name === 'input_ids' ? this.padTokenId : 0;
      const matrix = new IntegerMatrix(input.type, rows, columns, fill);
      batch.forEach((text, row) => {
        const values = input.name === 'input_ids' ? text.ids : input.name === 'token_type_ids' ? text.typeIds : undefined;
        for (let column = 0; column < text.ids.length; column++) {
          matrix.set(row, column, values === undefined ? (input.name === 'attention_mask' ? 1 : 0) : (values[column] ?? 0));
        }
      });
      feeds[input.name] = matrix.toTensor();
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
  try {
    return await ort.InferenceSession.create(path, {
      executionProviders,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // Idle intra-op threads sleep instead of spinning. Spinning burns a core between batches, and on a small
      // machine that core is the one parsing HTTP and tokenizing: measured on 2 cores, 2 spinning threads ran the
      // embedded model at 0.48 ms of CPU per text, 2 sleeping ones at 0.28 (bench/README.md).
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
    if (!inputs.some((input) => input.name === 'input_ids')) throw new Error(`${model.onnxPath}: model has no input_ids input`);
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
