import { parentPort } from 'node:worker_threads';

// A stand-in engine thread for worker-engine tests: reports ready like the real one, answers its first batch, then
// dies on the second, as a runtime that hits a fatal error would.
const port = parentPort;
if (port === null) throw new Error('runs only as a worker thread');
port.postMessage({
  type: 'ready',
  identity: { kind: 'onnx', device: 'cpu', backend: 'crashing test engine', numLabels: 2, skippedBackends: [] },
});
let runs = 0;
port.on('message', (message: { type: string; id: number; batch: { lengths: Int32Array } }) => {
  if (message.type !== 'run') return;
  runs += 1;
  if (runs === 2) process.exit(3);
  port.postMessage({ type: 'result', id: message.id, logits: new Float32Array(message.batch.lengths.length * 2) });
});
