import { readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Device, Dtype, DtypeSetting, EngineKind } from '../engine/engine-choices.js';
import { ServiceError } from '../errors/error-codes.js';
import { chooseDtypeIn, onnxFileOf } from './dtype-choice.js';

/** What a Hugging Face sequence-classification directory holds, read and checked once at start-up. */
export interface ModelDir {
  dir: string;
  name: string;
  modelType: string;
  /** Index = class id, from config.json's id2label. */
  labels: string[];
  /** Longest input (special tokens included) the model accepts. */
  maxLength: number;
  /** Where maxLength was declared, e.g. `config.json max_position_embeddings (512)`, for start-up errors. */
  maxLengthSource: string;
  /** Width of the hidden states (hidden_size; DistilBERT's dim), when config.json says. */
  hiddenSize: number | undefined;
  /** As Hugging Face's pipeline: a sigmoid per label for multi-label or single-logit models, else a softmax. */
  scoring: 'softmax' | 'sigmoid';
  /** DTYPE resolved for this directory and device (auto: see dtype-choice.ts). */
  dtype: Dtype;
  /** Why that dtype, for /info and the start-up log. */
  dtypeReason: string;
  /** The ONNX file of that dtype; checked to exist only for ENGINE=onnx. */
  onnxPath: string;
  /** The file the configured engine loads: onnxPath for ENGINE=onnx, model.safetensors for ENGINE=tfjs. */
  weightsPath: string;
}

export class ModelDirError extends ServiceError {
  constructor(dir: string, problem: string) {
    super('SENTIMENT_MODEL_DIR', `MODEL_DIR ${dir}: ${problem}`);
  }
}

// RoBERTa-style models number positions from padding_idx + 1, so two of their position embeddings are unusable.
const positionOffsetModelTypes = new Set(['roberta', 'xlm-roberta', 'camembert', 'longformer', 'mpnet']);

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function readJson(dir: string, file: string): Record<string, unknown> {
  const path = join(dir, file);
  if (!isFile(path)) throw new ModelDirError(dir, `${file} is missing`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ModelDirError(dir, `${file} is not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ModelDirError(dir, `${file} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

function labelsOf(dir: string, config: Record<string, unknown>): string[] {
  const id2label = config.id2label;
  if (typeof id2label !== 'object' || id2label === null || Array.isArray(id2label)) {
    throw new ModelDirError(dir, 'config.json has no id2label object (is this a sequence-classification model?)');
  }
  const entries = Object.entries(id2label as Record<string, unknown>);
  const labels: string[] = [];
  for (let id = 0; id < entries.length; id++) {
    const label = (id2label as Record<string, unknown>)[String(id)];
    if (typeof label !== 'string' || label === '') {
      throw new ModelDirError(
        dir,
        `config.json id2label must map ids 0..${entries.length - 1} to names; id ${id} has none`,
      );
    }
    labels.push(label);
  }
  if (labels.length === 0) throw new ModelDirError(dir, 'config.json id2label is empty');
  return labels;
}

function maxLengthOf(
  dir: string,
  config: Record<string, unknown>,
  tokenizerConfig: Record<string, unknown>,
): { maxLength: number; maxLengthSource: string } {
  const modelType = String(config.model_type ?? '');
  const positions = config.max_position_embeddings;
  const fromPositions =
    typeof positions === 'number' && positions > 0
      ? positions - (positionOffsetModelTypes.has(modelType) ? 2 : 0)
      : undefined;
  const declared = tokenizerConfig.model_max_length;
  // Tokenizers without a limit declare a huge sentinel (1e30); only a plausible number counts.
  const fromTokenizer = typeof declared === 'number' && declared > 0 && declared < 1_000_000 ? declared : undefined;
  if (fromPositions === undefined && fromTokenizer === undefined) {
    throw new ModelDirError(
      dir,
      'neither config.json max_position_embeddings nor tokenizer_config.json model_max_length gives a maximum length',
    );
  }
  if (fromTokenizer === undefined || (fromPositions !== undefined && fromPositions <= fromTokenizer)) {
    return {
      maxLength: fromPositions as number,
      maxLengthSource: `config.json max_position_embeddings (${String(positions)})`,
    };
  }
  return { maxLength: fromTokenizer, maxLengthSource: `tokenizer_config.json model_max_length (${fromTokenizer})` };
}

export const safetensorsFile = 'model.safetensors';

export function readModelDir(
  dir: string,
  dtypeSetting: DtypeSetting,
  engine: EngineKind = 'onnx',
  device: Device = 'cpu',
): ModelDir {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new ModelDirError(dir, 'directory does not exist');
  }
  if (!isDir) throw new ModelDirError(dir, 'is not a directory');

  const config = readJson(dir, 'config.json');
  const tokenizerConfig = readJson(dir, 'tokenizer_config.json');
  // Parsed here, once, so a broken file is named; transformers.js would fail later without saying which file.
  const tokenizerFile = readJson(dir, 'tokenizer.json');
  if (typeof tokenizerFile.model !== 'object' || tokenizerFile.model === null) {
    throw new ModelDirError(dir, 'tokenizer.json has no "model" object (is it a Hugging Face tokenizers file?)');
  }

  const { dtype, reason: dtypeReason } = chooseDtypeIn(dir, dtypeSetting, engine, device);
  const onnxFile = onnxFileOf[dtype];
  const onnxPath = join(dir, onnxFile);
  // Each engine needs only its own file: a plain Hugging Face directory (no ONNX export) serves with ENGINE=tfjs.
  // ENGINE=remote reads no weights: the model server holds them.
  const weightsPath = engine === 'tfjs' ? join(dir, safetensorsFile) : onnxPath;
  if (engine !== 'remote' && !isFile(weightsPath)) {
    throw new ModelDirError(
      dir,
      engine === 'tfjs'
        ? `${safetensorsFile} is missing (ENGINE=tfjs loads its weights from it)`
        : `${onnxFile} is missing (${dtypeReason})`,
    );
  }

  const labels = labelsOf(dir, config);
  return {
    dir,
    name: basename(dir),
    modelType: String(config.model_type ?? 'unknown'),
    labels,
    ...maxLengthOf(dir, config, tokenizerConfig),
    hiddenSize: [config.hidden_size, config.dim, config.d_model].find(
      (value): value is number => typeof value === 'number' && Number.isInteger(value) && value > 0,
    ),
    scoring: config.problem_type === 'multi_label_classification' || labels.length === 1 ? 'sigmoid' : 'softmax',
    dtype,
    dtypeReason,
    onnxPath,
    weightsPath,
  };
}
