import { parentPort, workerData } from 'node:worker_threads';
import { postedError } from '../../errors/error-codes.js';
import { loadModel } from '../../model/model.js';
import { createEngine } from '../create-engine.js';
import type { Engine } from '../engine.js';
import type { EngineThreadConfig, FromEngineThread, ToEngineThread } from './engine-thread-protocol.js';

// The body of the engine's worker thread: it loads the model directory, builds the engine the config names, and
// runs one batch per message. Runtimes that compute synchronously (onnxruntime-node's session.run) then hold this
// thread, not the one that parses HTTP and tokenizes the next requests.

if (parentPort === null) throw new Error('engine-thread.js runs only as a worker thread');
const port = parentPort;
const config = workerData as EngineThreadConfig;

function send(message: FromEngineThread, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

async function start(): Promise<Engine | undefined> {
  try {
    const model = await loadModel(config.modelDir, config.dtype, config.engine);
    return await createEngine(model, config);
  } catch (error) {
    // The main thread terminates this thread when it reads this.
    send({ type: 'failed', error: postedError(error) });
    return undefined;
  }
}

const engine = await start();
if (engine !== undefined) serve(engine);
function serve(engine: Engine): void {
  send({
    type: 'ready',
    identity: {
      kind: engine.kind,
      device: engine.device,
      backend: engine.backend,
      numLabels: engine.numLabels,
      skippedBackends: engine.skippedBackends,
    },
  });

  port.on('message', (message: ToEngineThread) => {
    if (message.type === 'dispose') {
      // The main thread waits for this thread's exit, which closing the port allows.
      void engine.dispose().finally(() => port.close());
      return;
    }
    engine.run(message.batch).then(
      (logits) => {
        // Copy only when the logits share a buffer with something else (a view into a larger allocation).
        const own = logits.byteOffset === 0 && logits.byteLength === logits.buffer.byteLength ? logits : logits.slice();
        send({ type: 'result', id: message.id, logits: own }, [own.buffer as ArrayBuffer]);
      },
      (error: unknown) => send({ type: 'error', id: message.id, error: postedError(error) }),
    );
  });
}
