import type { Config } from '../config/config.js';
import { engineThreadOf, type EngineThreadChoice } from './engine-choices.js';

/** Where and how many times the engine runs. */
export interface EngineLayout {
  thread: Exclude<EngineThreadChoice, 'auto'>;
  instances: number;
  /** ONNX Runtime intra-op threads per instance; undefined: ONNX Runtime's own default. */
  intraOpThreads: number | undefined;
}

/** More copies than this rarely pay on CPU (memory grows with each; batches get smaller) unless set by hand. */
export const maxAutoInstances = 4;

/**
 * Resolves ENGINE_THREAD, ENGINE_INSTANCES and INTRA_OP_THREADS left at `auto`/unset. On CPU
 * (bench/README.md): two single-threaded ONNX Runtime copies on worker threads beat one copy with two threads, for
 * the embedded model and the DistilBERT-size one alike, because two threads of one session wait for each other at
 * every operator while the main thread takes turns on the same cores. So on CPU the default is one copy per
 * available CPU (up to maxAutoInstances), the CPUs shared out as intra-op threads. A GPU gets one copy, as does
 * TensorFlow.js, which stays on the main thread: tfjs-node's native addon is not known to load in worker threads.
 */
export function resolveEngineLayout(
  config: Pick<Config, 'engine' | 'device' | 'engineThread' | 'engineInstances' | 'intraOpThreads'>,
  cpus: number,
): EngineLayout {
  const onnxOnCpu = config.engine === 'onnx' && config.device === 'cpu';
  const thread = engineThreadOf(config);
  let instances: number;
  if (config.engineInstances !== 'auto') instances = config.engineInstances;
  // The remote engine resolves auto from the model server's own instances (remote-engine.ts).
  else if (!onnxOnCpu || thread === 'main') instances = 1;
  else instances = Math.min(maxAutoInstances, Math.max(1, Math.floor(cpus / (config.intraOpThreads ?? 1))));
  const intraOpThreads = config.intraOpThreads ?? (onnxOnCpu ? Math.max(1, Math.floor(cpus / instances)) : undefined);
  return { thread, instances, intraOpThreads: config.engine === 'onnx' ? intraOpThreads : undefined };
}
