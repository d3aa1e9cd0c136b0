import { workerData } from 'node:worker_threads';
import { loadModel } from '../../model/model.js';
import { servePoolThread } from '../../worker-pool/pool-thread.js';
import { createEngine } from '../create-engine.js';
import type { PackedBatch } from '../packed-batch.js';
import type { EngineIdentity, EngineThreadConfig } from './engine-thread-protocol.js';

// The body of the engine's worker thread: it loads the model directory, builds the engine the config names, and
// runs one batch per job. Runtimes that compute synchronously (onnxruntime-node's session.run) then hold this
// thread, not the one that parses HTTP and tokenizes the next requests.

const config = workerData as EngineThreadConfig;

await servePoolThread<PackedBatch, Float32Array, EngineIdentity>(async () => {
  const model = await loadModel(config.modelDir, config.dtype, config.engine, config.device);
  const engine = await createEngine(model, config);
  return {
    identity: {
      kind: engine.kind,
      device: engine.device,
      backend: engine.backend,
      numLabels: engine.numLabels,
      skippedBackends: engine.skippedBackends,
    },
    handle: async (batch) => {
      const logits = await engine.run(batch);
      // Copy only when the logits share a buffer with something else (a view into a larger allocation).
      const own = logits.byteOffset === 0 && logits.byteLength === logits.buffer.byteLength ? logits : logits.slice();
      return { result: own, transfer: [own.buffer as ArrayBuffer] };
    },
    dispose: () => engine.dispose(),
  };
});
