import type { Device, DtypeSetting, EngineKind } from '../engine/engine-choices.js';
import { onnxFileOf, preferredDtypeOf } from '../model/dtype-choice.js';
import { safetensorsFile } from '../model/model-dir.js';

export interface WantedFile {
  path: string;
  /** An optional file the repository lacks is noted in .no_exist/ and skipped; a required one stops start-up. */
  required: boolean;
  /** What to tell the user when a required file is missing. */
  hint: string;
  /** Wanted only when the snapshot lacks this file (DTYPE=auto: float32 only without the preferred export). */
  unlessPresent?: string;
}

/**
 * The files a Hub repository must give for one engine: what readModelDir and the tokenizer read, nothing more (a
 * repository may also hold PyTorch, TensorFlow and other ONNX variants, each as big as the model).
 */
export function modelFiles(engine: EngineKind, dtype: DtypeSetting, device: Device = 'cpu'): WantedFile[] {
  // DTYPE=auto: the device's preferred export if the repository has one, else float32; never both.
  const preferred = onnxFileOf[preferredDtypeOf[device]];
  const onnxWeights = (chosen: Exclude<DtypeSetting, 'auto'>): WantedFile => ({
    path: onnxFileOf[chosen],
    required: true,
    hint:
      `the repository has no ONNX export ${dtype === 'auto' ? `(DTYPE=auto takes ${preferred}, else this one)` : `for DTYPE=${dtype}`}. Make one with ` +
      '`optimum-cli export onnx --task text-classification --model <MODEL_ID> <dir>` and serve <dir> with MODEL_DIR ' +
      '(or upload its model.onnx to onnx/ in a repository of yours), or serve model.safetensors with ENGINE=tfjs',
  });
  const weights: WantedFile[] =
    engine === 'tfjs'
      ? [
          {
            path: safetensorsFile,
            required: true,
            hint: 'ENGINE=tfjs loads its weights from it; use ENGINE=onnx if the repository has an ONNX export under onnx/',
          },
        ]
      : dtype === 'auto'
        ? [
            { path: preferred, required: false, hint: '' },
            { ...onnxWeights('fp32'), unlessPresent: preferred },
          ]
        : [onnxWeights(dtype)];
  return [
    { path: 'config.json', required: true, hint: 'is this a Transformers model repository?' },
    { path: 'tokenizer_config.json', required: true, hint: 'the tokenizer settings are needed' },
    {
      path: 'tokenizer.json',
      required: true,
      hint: "the fast tokenizer file is needed; transformers' AutoTokenizer.from_pretrained(id).save_pretrained(dir) writes one",
    },
    { path: 'special_tokens_map.json', required: false, hint: '' },
    // ENGINE=remote tokenizes here and computes on the model server, which holds the weights.
    ...(engine === 'remote' ? [] : weights),
  ];
}
