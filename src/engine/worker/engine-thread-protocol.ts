import type { Config } from '../../config/config.js';
import type { Device, EngineKind } from '../engine-choices.js';
import type { PostedError } from '../../errors/error-codes.js';
import type { PackedBatch } from '../packed-batch.js';

/** What the engine thread needs to build its engine: the same settings the main thread would use. */
export type EngineThreadConfig = Pick<
  Config,
  'modelDir' | 'dtype' | 'engine' | 'device' | 'intraOpThreads' | 'interOpThreads' | 'tfjsBackend'
>;

/** The engine's identity, sent once it is loaded and warmed up. */
export interface EngineIdentity {
  kind: EngineKind;
  device: Device;
  backend: string;
  numLabels: number;
  skippedBackends: readonly string[];
}

export type ToEngineThread = { type: 'run'; id: number; batch: PackedBatch } | { type: 'dispose' };

export type FromEngineThread =
  | { type: 'ready'; identity: EngineIdentity }
  | { type: 'failed'; error: PostedError }
  | { type: 'result'; id: number; logits: Float32Array }
  | { type: 'error'; id: number; error: PostedError };
