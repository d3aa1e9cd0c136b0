import type { Config } from '../../config/config.js';
import type { Device, EngineKind } from '../engine-choices.js';

/** What the engine thread needs to build its engine: the same settings the main thread would use. */
export type EngineThreadConfig = Pick<
  Config,
  'modelDir' | 'dtype' | 'engine' | 'device' | 'intraOpThreads' | 'interOpThreads' | 'tfjsBackend'
>;

/** The engine's identity, sent once it is loaded and warmed up (the messages are the WorkerPool's). */
export interface EngineIdentity {
  kind: EngineKind;
  device: Device;
  backend: string;
  numLabels: number;
  skippedBackends: readonly string[];
}
