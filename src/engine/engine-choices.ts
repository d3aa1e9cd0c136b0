// The engine's value lists, from which the settings ENGINE, DEVICE, DTYPE, TFJS_BACKEND and ENGINE_THREAD are
// validated (src/config/config.ts) and the engine, model and queue code is typed. This file imports nothing, so
// the config can read it without the engine depending back on the config.

/** remote: each batch goes to an Open Inference Protocol gRPC model server (src/engine/remote/). */
export const engineKinds = ['onnx', 'tfjs', 'remote'] as const;
export const devices = ['cpu', 'cuda'] as const;
/** auto: the fastest file the model directory has for the device (src/model/dtype-choice.ts), else fp32. */
export const dtypes = ['auto', 'fp32', 'fp16', 'q8', 'int8'] as const;
/** auto: tfjs-node-gpu with DEVICE=cuda; else tfjs-node, then wasm, then cpu, the first that loads and runs. */
export const tfjsBackends = ['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const;
/**
 * worker: the engine computes on worker threads, so HTTP and tokenization go on during a batch; main: on the main
 * thread; auto: worker for ENGINE=onnx, main for ENGINE=tfjs.
 */
export const engineThreads = ['auto', 'worker', 'main'] as const;

export type EngineKind = (typeof engineKinds)[number];
export type Device = (typeof devices)[number];
export type DtypeSetting = (typeof dtypes)[number];
/** A dtype resolved to one ONNX file (DTYPE=auto resolved for the model directory and device). */
export type Dtype = Exclude<DtypeSetting, 'auto'>;
export type TfjsBackendChoice = (typeof tfjsBackends)[number];
export type EngineThreadChoice = (typeof engineThreads)[number];

/**
 * ENGINE_THREAD=auto: worker threads for ONNX Runtime; the main thread for TensorFlow.js, whose tfjs-node native
 * addon is not known to load in worker threads (see resolveEngineLayout), and for the remote engine, which only
 * waits on the network.
 */
export function engineThreadOf(choice: {
  engine: EngineKind;
  engineThread: EngineThreadChoice;
}): Exclude<EngineThreadChoice, 'auto'> {
  if (choice.engineThread !== 'auto') return choice.engineThread;
  return choice.engine === 'onnx' ? 'worker' : 'main';
}
