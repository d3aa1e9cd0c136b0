import { type PackedBatch, unpackBatch } from '../engine/packed-batch.js';
import { charactersPerToken, cutCharacters, type TruncationSide } from '../model/character-cut.js';
import type { EncodedText } from '../model/tokenizer.js';
import { WorkerPool, type WorkerPoolOptions } from '../worker-pool/worker-pool.js';
import type { TokenizeJob, TokenizerThreadConfig } from './tokenizer-protocol.js';

const tokenizerThreadScript = new URL('./tokenizer-thread.js', import.meta.url);

/**
 * Worker threads that tokenize, each with its own copy of the model's tokenizer, in a WorkerPool. A request's texts
 * go to the least busy thread in one message, and come back packed in one transferred buffer. A thread that stops
 * while the pool is open (a crash, an out-of-memory exit) is replaced, so the service heals instead of answering
 * 500 until restarted; requests that arrive while no thread is alive wait for the replacement.
 */
export class TokenizerPool {
  private constructor(
    private readonly pool: WorkerPool<TokenizeJob, PackedBatch, undefined>,
    private readonly config: TokenizerThreadConfig,
  ) {}

  /** `spawn`: creates each thread's Worker; tests pass one that keeps hold of the workers. */
  static async start(
    config: TokenizerThreadConfig,
    size: number,
    spawn?: WorkerPoolOptions['spawn'],
  ): Promise<TokenizerPool> {
    const pool = await WorkerPool.start<TokenizeJob, PackedBatch, undefined>({
      script: tokenizerThreadScript,
      workerData: config,
      size,
      what: 'a tokenizer thread',
      spawn,
    });
    return new TokenizerPool(pool, config);
  }

  get size(): number {
    return this.pool.size;
  }

  /** Threads alive now. */
  get live(): number {
    return this.pool.live;
  }

  /** Set once a thread that stopped could not be replaced (see WorkerPool); liveness reports it. */
  get failure(): Error | undefined {
    return this.pool.failure;
  }

  /** Threads started to replace one that stopped. */
  get replaced(): number {
    return this.pool.replaced;
  }

  async tokenize(texts: readonly string[], truncate: boolean, side: TruncationSide): Promise<EncodedText[]> {
    const maxCharacters = this.config.maxLength * charactersPerToken;
    const packed = await this.pool.run({
      texts: texts.map((text) => cutCharacters(text, maxCharacters, side)),
      fullLengths: texts.map((text) => text.length),
      truncate,
      side,
    });
    return unpackBatch(packed);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
