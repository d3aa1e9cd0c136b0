import { parentPort, threadId, workerData } from 'node:worker_threads';

// A stand-in engine thread for worker-engine tests: each batch holds the thread for holdMs (as onnxruntime-node's
// synchronous run does), and its "logits" say which thread ran it and when: [threadId, start, end, 0, ...], in
// milliseconds since workerData.base (Date.now() of the test), so a test can tell batches that overlapped.
const port = parentPort;
if (port === null) throw new Error('runs only as a worker thread');
const { base, holdMs } = workerData as { base: number; holdMs: number };
const blocker = new Int32Array(new SharedArrayBuffer(4));
port.postMessage({
  type: 'ready',
  identity: { kind: 'onnx', device: 'cpu', backend: 'timed test engine', numLabels: 2, skippedBackends: [] },
});
port.on('message', (message: { type: string; id: number; batch: { lengths: Int32Array } }) => {
  if (message.type === 'dispose') return port.close();
  if (message.type !== 'run') return;
  const start = Date.now() - base;
  Atomics.wait(blocker, 0, 0, holdMs);
  const logits = new Float32Array(Math.max(4, message.batch.lengths.length * 2));
  logits.set([threadId, start, Date.now() - base]);
  port.postMessage({ type: 'result', id: message.id, logits });
});
