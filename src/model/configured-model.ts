import type { Config } from '../config/config.js';
import type { HubLog } from '../hub/hub-client.js';
import { resolveHubSnapshot } from '../hub/hub-snapshot.js';
import { ModelDirError } from './model-dir.js';
import { loadModel, type Model } from './model.js';

/**
 * The model the config names: MODEL_ID resolved to a snapshot in the Hub cache first, else MODEL_DIR as it is.
 * The logger is made only for a Hub model (a local directory logs nothing here).
 */
export async function loadConfiguredModel(config: Config, makeLog: () => HubLog): Promise<Model> {
  if (config.modelId === undefined) return loadModel(config.modelDir, config.dtype, config.engine, config.device);
  const snapshot = await resolveHubSnapshot({ ...config, modelId: config.modelId }, makeLog());
  let model: Model;
  try {
    model = await loadModel(snapshot.dir, config.dtype, config.engine, config.device);
  } catch (error) {
    if (!(error instanceof ModelDirError)) throw error;
    throw new Error(
      error.message.replace(
        `MODEL_DIR ${snapshot.dir}`,
        `MODEL_ID ${snapshot.modelId} at ${snapshot.commit} (${snapshot.dir})`,
      ),
    );
  }
  // Named by its id (in /info and the metrics' model label), not by the snapshot folder's commit.
  return {
    ...model,
    name: snapshot.modelId,
    hub: { modelId: snapshot.modelId, revision: snapshot.revision, commit: snapshot.commit },
  };
}
