import { parentPort, workerData } from 'node:worker_threads';
import { packBatch } from '../engine/packed-batch.js';
import { TextTokenizer } from '../model/tokenizer.js';
import { RejectionError } from '../errors/rejections.js';
import type { FromTokenizerThread, TokenizeJob, TokenizerThreadConfig } from './tokenizer-protocol.js';

// The body of a tokenizer thread: the model's tokenizer, one request's texts per message. Long texts are tokenized
// here so that the main thread keeps reading HTTP and answering probes meanwhile.

if (parentPort === null) throw new Error('tokenizer-thread.js runs only as a worker thread');
const port = parentPort;
const config = workerData as TokenizerThreadConfig;

function send(message: FromTokenizerThread, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

let tokenizer: TextTokenizer;
try {
  tokenizer = await TextTokenizer.load(config.modelDir, config.maxLength);
  send({ type: 'ready' });
  port.on('message', (job: TokenizeJob) => {
    try {
      const packed = packBatch(
        job.texts.map((text, index) => tokenizer.encode(text, index, job.truncate, job.side, job.fullLengths[index])),
      );
      const transfer = [packed.lengths.buffer, packed.ids.buffer, ...(packed.typeIds ? [packed.typeIds.buffer] : [])];
      send({ type: 'result', id: job.id, encoded: packed }, transfer as ArrayBuffer[]);
    } catch (error) {
      const { name, message } = error as Error;
      send({
        type: 'error',
        id: job.id,
        reason: error instanceof RejectionError ? error.reason : undefined,
        name,
        message,
      });
    }
  });
} catch (error) {
  send({ type: 'failed', message: (error as Error).message });
}
