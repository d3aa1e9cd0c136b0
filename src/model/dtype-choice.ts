import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Device, Dtype, DtypeSetting, EngineKind } from '../engine/engine-choices.js';

/** The ONNX file each dtype reads (transformers.js's names, so Hub exports made for it serve as they are). */
export const onnxFileOf: Record<Dtype, string> = {
  fp32: 'onnx/model.onnx',
  fp16: 'onnx/model_fp16.onnx',
  q8: 'onnx/model_quantized.onnx',
  int8: 'onnx/model_quantized.onnx',
};

/**
 * What DTYPE=auto prefers on each device, when the directory has it: dynamic int8 on CPU (as accurate as float32
 * and faster: the model cards and bench/README.md), float16 on a GPU; float32 otherwise.
 */
export const preferredDtypeOf: Record<Device, Dtype> = { cpu: 'q8', cuda: 'fp16' };

export interface DtypeChoice {
  dtype: Dtype;
  /** Why this dtype: shown in /info and the start-up log. */
  reason: string;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * DTYPE resolved for one model directory: a dtype given explicitly stands (a missing file is the loader's error);
 * auto takes the device's preferred file when the directory has it, else float32. `has` says whether a file of the
 * directory exists (the Hub download asks before the files are there).
 */
export function chooseDtype(
  setting: DtypeSetting,
  engine: EngineKind,
  device: Device,
  has: (file: string) => boolean,
): DtypeChoice {
  if (setting !== 'auto') return { dtype: setting, reason: `DTYPE=${setting}` };
  if (engine === 'tfjs') {
    return {
      dtype: 'fp32',
      reason: 'DTYPE=auto with ENGINE=tfjs: float32, which is what the TensorFlow.js engine computes in',
    };
  }
  if (engine === 'remote') {
    return {
      dtype: 'fp32',
      reason: 'DTYPE=auto with ENGINE=remote: the model server holds the weights and computes in its own dtype',
    };
  }
  const preferred = preferredDtypeOf[device];
  const file = onnxFileOf[preferred];
  const on = device === 'cpu' ? 'on CPU' : 'on CUDA';
  if (has(file)) return { dtype: preferred, reason: `DTYPE=auto ${on}: the model directory has ${file}` };
  return { dtype: 'fp32', reason: `DTYPE=auto ${on}: the model directory has no ${file}, so float32` };
}

/** chooseDtype on a model directory on disk. */
export function chooseDtypeIn(dir: string, setting: DtypeSetting, engine: EngineKind, device: Device): DtypeChoice {
  return chooseDtype(setting, engine, device, (file) => isFile(join(dir, file)));
}
