import { Worker } from 'node:worker_threads';
import { unpackBatch } from '../engine/packed-batch.js';
import { charactersPerToken, cutCharacters, type TruncationSide } from '../model/character-cut.js';
import type { EncodedText } from '../model/tokenizer.js';
import { RejectionError } from '../errors/rejections.js';
import type { FromTokenizerThread, TokenizeJob, TokenizerThreadConfig } from './tokenizer-protocol.js';

interface Pending {
  resolve(encoded: EncodedText[]): void;
  reject(error: Error): void;
}

class TokenizerThread {
  private readonly pending = new Map<number, Pending>();
  stopped: Error | undefined;

  constructor(private readonly worker: Worker) {
    worker.on('message', (message: FromTokenizerThread) => this.onMessage(message));
    worker.on('error', (error) => this.stop(error));
    worker.on('exit', (code) => this.stop(new Error(`a tokenizer thread stopped: exit code ${code}`)));
  }

  get load(): number {
    return this.pending.size;
  }

  tokenize(job: TokenizeJob): Promise<EncodedText[]> {
    if (this.stopped !== undefined) return Promise.reject(this.stopped);
    return new Promise((resolve, reject) => {
      this.pending.set(job.id, { resolve, reject });
      this.worker.postMessage(job);
    });
  }

  async dispose(): Promise<void> {
    this.stopped ??= new Error('the tokenizer pool is closed');
    await this.worker.terminate();
  }

  private onMessage(message: FromTokenizerThread): void {
    if (message.type !== 'result' && message.type !== 'error') return;
    const pending = this.pending.get(message.id);
    if (pending === undefined) return;
    this.pending.delete(message.id);
    if (message.type === 'result') pending.resolve(unpackBatch(message.encoded));
    else if (message.reason !== undefined) pending.reject(new RejectionError(message.reason, message.message));
    else pending.reject(Object.assign(new Error(message.message), { name: message.name }));
  }

  private stop(error: Error): void {
    this.stopped ??= error;
    for (const { reject } of this.pending.values()) reject(this.stopped);
    this.pending.clear();
  }
}

const tokenizerThreadScript = new URL('./tokenizer-thread.js', import.meta.url);

/**
 * Worker threads that tokenize, each with its own copy of the model's tokenizer. A request's texts go to the least
 * busy thread in one message, and come back packed in one transferred buffer.
 */
export class TokenizerPool {
  private nextId = 0;

  private constructor(
    private readonly threads: readonly TokenizerThread[],
    private readonly maxCharacters: number,
  ) {}

  static async start(config: TokenizerThreadConfig, size: number): Promise<TokenizerPool> {
    const workers = Array.from({ length: size }, () => new Worker(tokenizerThreadScript, { workerData: config }));
    const ready = workers.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          const onExit = (code: number): void =>
            reject(new Error(`a tokenizer thread stopped during start-up: exit code ${code}`));
          worker.once('error', reject);
          worker.once('exit', onExit);
          worker.once('message', (message: FromTokenizerThread) => {
            // Only these listeners: Node's Worker keeps its own ones on the same object.
            worker.off('error', reject);
            worker.off('exit', onExit);
            if (message.type === 'ready') resolve();
            else
              reject(
                new Error(message.type === 'failed' ? message.message : `tokenizer thread: unexpected ${message.type}`),
              );
          });
        }),
    );
    const outcomes = await Promise.allSettled(ready);
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(workers.map((worker) => worker.terminate()));
      throw failed.reason;
    }
    return new TokenizerPool(
      workers.map((worker) => new TokenizerThread(worker)),
      config.maxLength * charactersPerToken,
    );
  }

  get size(): number {
    return this.threads.length;
  }

  tokenize(texts: readonly string[], truncate: boolean, side: TruncationSide): Promise<EncodedText[]> {
    const live = this.threads.filter((thread) => thread.stopped === undefined);
    const thread = live.reduce<TokenizerThread | undefined>(
      (best, t) => (best === undefined || t.load < best.load ? t : best),
      undefined,
    );
    if (thread === undefined) return Promise.reject(new Error('no tokenizer thread left'));
    return thread.tokenize({
      id: this.nextId++,
      texts: texts.map((text) => cutCharacters(text, this.maxCharacters, side)),
      fullLengths: texts.map((text) => text.length),
      truncate,
      side,
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.dispose()));
  }
}
