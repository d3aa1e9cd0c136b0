import { threadId, workerData } from 'node:worker_threads';
import type { PackedBatch } from '../../src/engine/packed-batch.js';
import { servePoolThread } from '../../src/worker-pool/pool-thread.js';

// A stand-in engine thread for worker-engine tests: each batch holds the thread for holdMs (as onnxruntime-node's
// synchronous run does), and its "logits" say which thread ran it and when: [threadId, start, end, 0, ...], in
// milliseconds since workerData.base (Date.now() of the test), so a test can tell batches that overlapped.
const { base, holdMs } = workerData as { base: number; holdMs: number };
const blocker = new Int32Array(new SharedArrayBuffer(4));
await servePoolThread<PackedBatch, Float32Array, object>(async () => ({
  identity: { kind: 'onnx', device: 'cpu', backend: 'timed test engine', numLabels: 2, skippedBackends: [] },
  handle: async (batch) => {
    const start = Date.now() - base;
    Atomics.wait(blocker, 0, 0, holdMs);
    const logits = new Float32Array(Math.max(4, batch.lengths.length * 2));
    logits.set([threadId, start, Date.now() - base]);
    return { result: logits };
  },
}));
