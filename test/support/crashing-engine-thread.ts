import { workerData } from 'node:worker_threads';
import type { PackedBatch } from '../../src/engine/packed-batch.js';
import { servePoolThread } from '../../src/worker-pool/pool-thread.js';

// A stand-in engine thread for worker-engine tests: reports ready like the real one, answers its batches, then
// dies on batch number `crashOnRun` (from its workerData; the second by default), as a runtime that hits a fatal
// error would.
const crashOnRun = (workerData as { crashOnRun?: number }).crashOnRun ?? 2;
let runs = 0;
await servePoolThread<PackedBatch, Float32Array, object>(async () => ({
  identity: { kind: 'onnx', device: 'cpu', backend: 'crashing test engine', numLabels: 2, skippedBackends: [] },
  handle: async (batch) => {
    runs += 1;
    if (runs === crashOnRun) process.exit(3);
    return { result: new Float32Array(batch.lengths.length * 2) };
  },
}));
