import { createEngine } from '../../src/engine/create-engine.js';
import type { Engine } from '../../src/engine/engine.js';
import { loadModel, type Model } from '../../src/model/model.js';
import { testConfig } from './config.js';

/** The embedded model (MODEL_DIR's default) and a fresh engine for it (testEngine unless env names one), as the server would load them. */
export async function loadRealModel(env: Record<string, string> = {}): Promise<{ model: Model; engine: Engine }> {
  const config = testConfig(env);
  const model = await loadModel(config.modelDir, config.dtype, config.engine);
  const engine = await createEngine(model, config);
  return { model, engine };
}
