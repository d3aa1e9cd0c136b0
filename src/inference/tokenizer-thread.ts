import { workerData } from 'node:worker_threads';
import { buffersOf, packBatch, type PackedBatch } from '../engine/packed-batch.js';
import { TextTokenizer } from '../model/tokenizer.js';
import { servePoolThread } from '../worker-pool/pool-thread.js';
import type { TokenizeJob, TokenizerThreadConfig } from './tokenizer-protocol.js';

// The body of a tokenizer thread: the model's tokenizer, one request's texts per job. Long texts are tokenized
// here so that the main thread keeps reading HTTP and answering probes meanwhile.

const config = workerData as TokenizerThreadConfig;

await servePoolThread<TokenizeJob, PackedBatch, undefined>(async () => {
  const tokenizer = await TextTokenizer.load(config.modelDir, config.maxLength);
  return {
    identity: undefined,
    handle: async (job) => {
      const packed = packBatch(
        job.texts.map((text, index) => tokenizer.encode(text, index, job.truncate, job.side, job.fullLengths[index])),
      );
      return { result: packed, transfer: buffersOf(packed) as ArrayBuffer[] };
    },
  };
});
