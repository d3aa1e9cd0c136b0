import type { Device, DtypeSetting, EngineKind } from '../engine/engine-choices.js';
import { readModelDir, type ModelDir } from './model-dir.js';
import { TextTokenizer } from './tokenizer.js';

/** A model directory loaded once at start-up: what engines, the classifier and /info need. */
export interface Model extends ModelDir {
  tokenizer: TextTokenizer;
  /** Where a model loaded by Hub id (MODEL_ID) came from; undefined for a local MODEL_DIR. */
  hub?: { modelId: string; revision: string; commit: string };
}

export async function loadModel(
  dir: string,
  dtype: DtypeSetting,
  engine: EngineKind,
  device: Device = 'cpu',
): Promise<Model> {
  const files = readModelDir(dir, dtype, engine, device);
  const tokenizer = await TextTokenizer.load(dir, files.maxLength);
  return { ...files, tokenizer };
}
