import type { Config } from '../config.js';
import type { Model } from '../model/model.js';
import type { Engine } from './engine.js';
import { createOnnxEngine } from './onnx-engine.js';
import { createTfjsEngine } from './tfjs-engine.js';

/** The engine ENGINE names, loaded and warmed up. */
export async function createEngine(
  model: Model,
  config: Pick<Config, 'engine' | 'device' | 'intraOpThreads' | 'interOpThreads'> & Partial<Pick<Config, 'tfjsBackend'>>,
): Promise<Engine> {
  switch (config.engine) {
    case 'onnx':
      return createOnnxEngine(model, config);
    case 'tfjs':
      return createTfjsEngine(model, { device: config.device, tfjsBackend: config.tfjsBackend ?? 'auto' });
  }
}
