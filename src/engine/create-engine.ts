import type { Config } from '../config/config.js';
import type { Model } from '../model/model.js';
import type { Engine } from './engine.js';
import type { EngineLayout } from './engine-layout.js';
import { createOnnxEngine } from './onnx/onnx-engine.js';
import { createRemoteEngine, type RemoteEngineConfig } from './remote/remote-engine.js';
import { createTfjsEngine } from './tfjs/tfjs-engine.js';
import { createWorkerEngine } from './worker/worker-engine.js';

type EngineConfig = Pick<Config, 'engine' | 'device' | 'intraOpThreads' | 'interOpThreads'> &
  Partial<Pick<Config, 'tfjsBackend'> & RemoteEngineConfig>;

/** The engine ENGINE names, loaded and warmed up, computing on the calling thread. */
export async function createEngine(model: Model, config: EngineConfig): Promise<Engine> {
  switch (config.engine) {
    case 'onnx':
      return createOnnxEngine(model, config);
    case 'tfjs':
      return createTfjsEngine(model, { device: config.device, tfjsBackend: config.tfjsBackend ?? 'auto' });
    case 'remote':
      return createRemoteEngine(model, remoteEngineConfig(config));
  }
}

/** ENGINE=remote reads settings the in-process engines do not; a caller with a partial config gets told. */
function remoteEngineConfig(config: EngineConfig): RemoteEngineConfig {
  const { remoteWaitMs, requestTimeoutMs, engineInstances, maxBatchSize } = config;
  if (
    remoteWaitMs === undefined ||
    requestTimeoutMs === undefined ||
    engineInstances === undefined ||
    maxBatchSize === undefined
  ) {
    throw new Error('ENGINE=remote needs the whole config (loadConfig), not only the in-process engine settings');
  }
  return {
    ...config,
    remoteEngineUrl: config.remoteEngineUrl,
    remoteModel: config.remoteModel,
    remoteModelVersion: config.remoteModelVersion,
    remoteCaFile: config.remoteCaFile,
    remoteToken: config.remoteToken,
    batchShapes: config.batchShapes,
    remoteWaitMs,
    requestTimeoutMs,
    engineInstances,
    maxBatchSize,
  };
}

/** The engine the service and the batch CLI use, laid out as resolveEngineLayout decided. */
export async function startEngine(
  model: Model,
  config: EngineConfig & Pick<Config, 'tfjsBackend'>,
  layout: EngineLayout,
): Promise<Engine> {
  const settings = { ...config, intraOpThreads: layout.intraOpThreads };
  if (layout.thread === 'main') return createEngine(model, settings);
  return createWorkerEngine(
    {
      modelDir: model.dir,
      // Resolved on this thread already: every engine thread loads the same file.
      dtype: model.dtype,
      engine: config.engine,
      device: config.device,
      intraOpThreads: layout.intraOpThreads,
      interOpThreads: config.interOpThreads,
      tfjsBackend: config.tfjsBackend,
    },
    layout.instances,
  );
}
