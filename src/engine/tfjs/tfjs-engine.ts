import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Device, TfjsBackendChoice } from '../engine-choices.js';
import type { Model } from '../../model/model.js';
import { safetensorsFile } from '../../model/model-dir.js';
import { SafetensorsFile } from '../../model/safetensors.js';
import { padBatch, type PackedBatch } from '../packed-batch.js';
import type { Engine } from '../engine.js';
import { nodeHost, selectTfjsBackend, type TfjsHost, type TfjsRuntime } from './tfjs-backends.js';
import { Encoder, encoderConfigOf, encoderInputOf } from './tfjs-encoder.js';
import { warmUp } from '../warm-up.js';

export interface TfjsEngineOptions {
  device: Device;
  tfjsBackend: TfjsBackendChoice;
  /** Where packages are loaded from and GPUs looked for; tests stage it. */
  host?: TfjsHost;
}

export class TfjsEngine implements Engine {
  readonly kind = 'tfjs';
  readonly device: Device;
  readonly backend: string;
  readonly numLabels: number;
  /** The backends tried before the one that runs, each with the reason it was passed over. */
  readonly skippedBackends: readonly string[];
  readonly instances = 1;
  readonly failure = undefined;

  constructor(
    readonly runtime: TfjsRuntime,
    private readonly encoder: Encoder,
    private readonly padTokenId: number,
  ) {
    this.device = runtime.device;
    this.backend = runtime.description;
    this.numLabels = encoder.config.numLabels;
    this.skippedBackends = runtime.skipped;
  }

  async run(batch: PackedBatch): Promise<Float32Array> {
    // TensorFlow.js has one active backend per process. Should anything else in the process have switched it, switch
    // back, so that the weights are never copied onto (and computed on) another backend.
    const { tf, tfBackend } = this.runtime;
    if (tf.getBackend() !== tfBackend) await tf.setBackend(tfBackend);
    const logits = this.encoder.logits(encoderInputOf(padBatch(batch, this.padTokenId), this.encoder.config));
    try {
      // A copy: some backends hand out the tensor's own buffer, which must not outlive the tensor.
      return Float32Array.from(await logits.data());
    } finally {
      logits.dispose();
    }
  }

  async dispose(): Promise<void> {
    this.encoder.dispose();
  }
}

/**
 * Picks a TensorFlow.js backend, uploads model.safetensors to it and warms it up; resolves only once the engine can
 * serve. Needs no ONNX file: any supported Hugging Face directory will do.
 */
export async function createTfjsEngine(model: Model, options: TfjsEngineOptions): Promise<TfjsEngine> {
  const configPath = join(model.dir, 'config.json');
  const encoderConfig = encoderConfigOf(
    JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>,
    model.labels.length,
    configPath,
  );
  const weights = SafetensorsFile.read(join(model.dir, safetensorsFile));
  const runtime = await selectTfjsBackend(options.tfjsBackend, options.device, options.host ?? nodeHost);
  const encoder = Encoder.load(runtime.tf, encoderConfig, weights);
  const engine = new TfjsEngine(runtime, encoder, model.tokenizer.padTokenId);
  try {
    await warmUp(engine, model.tokenizer, model.maxLengthSource);
    return engine;
  } catch (error) {
    await engine.dispose();
    throw error;
  }
}
