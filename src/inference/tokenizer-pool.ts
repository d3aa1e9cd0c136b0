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

  constructor(
    private readonly worker: Worker,
    private readonly onUnexpectedStop: () => void,
  ) {
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
    const unexpected = this.stopped === undefined;
    this.stopped ??= error;
    for (const { reject } of this.pending.values()) reject(this.stopped);
    this.pending.clear();
    if (unexpected) this.onUnexpectedStop();
  }
}

const tokenizerThreadScript = new URL('./tokenizer-thread.js', import.meta.url);

/** Creates the worker of one tokenizer thread (a test passes its own to hold on to the workers). */
export type SpawnTokenizerWorker = (config: TokenizerThreadConfig) => Worker;

const spawnWorker: SpawnTokenizerWorker = (config) => new Worker(tokenizerThreadScript, { workerData: config });

/** Starts one tokenizer thread; resolves once it has loaded the tokenizer. */
async function startWorker(config: TokenizerThreadConfig, spawn: SpawnTokenizerWorker): Promise<Worker> {
  const worker = spawn(config);
  try {
    await new Promise<void>((resolve, reject) => {
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
    });
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return worker;
}

/**
 * Worker threads that tokenize, each with its own copy of the model's tokenizer. A request's texts go to the least
 * busy thread in one message, and come back packed in one transferred buffer. A thread that stops while the pool is
 * open (a crash, an out-of-memory exit) is replaced, so the service heals instead of answering 500 until restarted;
 * requests that arrive while no thread is alive wait for the replacement.
 */
export class TokenizerPool {
  private nextId = 0;
  private closed = false;
  private readonly replacements = new Set<Promise<void>>();
  /** Threads started to replace one that stopped. */
  replaced = 0;

  private constructor(
    private readonly threads: TokenizerThread[],
    private readonly config: TokenizerThreadConfig,
    private readonly spawn: SpawnTokenizerWorker,
  ) {}

  static async start(
    config: TokenizerThreadConfig,
    size: number,
    spawn: SpawnTokenizerWorker = spawnWorker,
  ): Promise<TokenizerPool> {
    const outcomes = await Promise.allSettled(Array.from({ length: size }, () => startWorker(config, spawn)));
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(
        outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.terminate() : undefined)),
      );
      throw failed.reason;
    }
    const pool = new TokenizerPool([], config, spawn);
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') pool.threads.push(pool.adopt(outcome.value));
    }
    return pool;
  }

  private get maxCharacters(): number {
    return this.config.maxLength * charactersPerToken;
  }

  get size(): number {
    return this.threads.length;
  }

  private leastBusy(): TokenizerThread | undefined {
    let best: TokenizerThread | undefined;
    for (const thread of this.threads) {
      if (thread.stopped === undefined && (best === undefined || thread.load < best.load)) best = thread;
    }
    return best;
  }

  /** Threads alive now. */
  get live(): number {
    return this.threads.filter((thread) => thread.stopped === undefined).length;
  }

  async tokenize(texts: readonly string[], truncate: boolean, side: TruncationSide): Promise<EncodedText[]> {
    let thread = this.leastBusy();
    if (thread === undefined && this.replacements.size > 0) {
      await Promise.allSettled([...this.replacements]);
      thread = this.leastBusy();
    }
    if (thread === undefined) throw new Error('no tokenizer thread left');
    return thread.tokenize({
      id: this.nextId++,
      texts: texts.map((text) => cutCharacters(text, this.maxCharacters, side)),
      fullLengths: texts.map((text) => text.length),
      truncate,
      side,
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.replacements]);
    await Promise.all(this.threads.map((thread) => thread.dispose()));
  }

  private adopt(worker: Worker): TokenizerThread {
    const thread: TokenizerThread = new TokenizerThread(worker, () => this.replace(thread));
    return thread;
  }

  /** Starts a thread in place of one that stopped; if that fails too, the slot stays empty. */
  private replace(stopped: TokenizerThread): void {
    if (this.closed) return;
    const replacement = startWorker(this.config, this.spawn).then(
      async (worker) => {
        const index = this.threads.indexOf(stopped);
        if (this.closed || index < 0) {
          await worker.terminate();
          return;
        }
        this.threads[index] = this.adopt(worker);
        this.replaced += 1;
      },
      () => undefined,
    );
    this.replacements.add(replacement);
    void replacement.finally(() => this.replacements.delete(replacement));
  }
}
