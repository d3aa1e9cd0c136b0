import { Worker } from 'node:worker_threads';
import { type PostedError, ServiceError } from '../errors/error-codes.js';
import { RejectionError, rejectionReasons, rejectionCode } from '../errors/rejections.js';
import type { FromPoolThread, ToPoolThread } from './pool-protocol.js';

/** A pool thread stopped other than by close(): a bug, a fatal runtime error, an out-of-memory exit. */
export class WorkerThreadExitedError extends ServiceError {
  constructor(what: string, reason: string) {
    super('SENTIMENT_WORKER_THREAD_EXITED', `${what} stopped: ${reason}`);
  }
}

/**
 * A thread's error on this side of the boundary, by its code: a rejection stays a RejectionError with its reason,
 * a class the pool's owner tells apart is rebuilt by `rebuild`, else a ServiceError with the same code and message.
 */
function rebuiltError(posted: PostedError, rebuild?: (posted: PostedError) => Error | undefined): Error {
  const { code, name, message } = posted;
  const own = rebuild?.(posted);
  if (own !== undefined) return own;
  const reason = rejectionReasons.find((candidate) => rejectionCode(candidate) === code);
  if (reason !== undefined) return new RejectionError(reason, message);
  if (code !== undefined) return new ServiceError(code, message);
  return Object.assign(new Error(message), { name });
}

export interface WorkerPoolOptions {
  /** The thread's body (a module that calls servePoolThread), and the data it starts from. */
  script: URL;
  workerData: unknown;
  size: number;
  /** Names a thread in errors, e.g. 'an engine thread'. */
  what: string;
  /** Rebuilds the error classes the owner tells apart (see rebuiltError). */
  rebuildError?(posted: PostedError): Error | undefined;
  /** Creates each thread's Worker; tests pass one that keeps hold of the workers. */
  spawn?(script: URL, workerData: unknown): Worker;
}

interface Pending<Result> {
  resolve(result: Result): void;
  reject(error: Error): void;
}

/** One worker thread of a pool: its jobs in flight, by id. */
class PoolThread<Job, Result> {
  private nextId = 0;
  private readonly pending = new Map<number, Pending<Result>>();
  stopped: Error | undefined;
  /** Jobs answered: a replacement that dies before answering any is one that cannot work (see WorkerPool.replace). */
  answered = 0;

  constructor(
    readonly isReplacement: boolean,
    private readonly worker: Worker,
    private readonly options: WorkerPoolOptions,
    private readonly onUnexpectedStop: (thread: PoolThread<Job, Result>) => void,
  ) {
    worker.on('message', (message: FromPoolThread<Result, unknown>) => this.onMessage(message));
    worker.on('error', (error) => this.stop(new WorkerThreadExitedError(options.what, error.message)));
    worker.on('exit', (code) => this.stop(new WorkerThreadExitedError(options.what, `exit code ${code}`)));
  }

  get load(): number {
    return this.pending.size;
  }

  run(job: Job, transfer: readonly ArrayBuffer[]): Promise<Result> {
    if (this.stopped !== undefined) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'job', id, job } satisfies ToPoolThread<Job>, [...transfer]);
    });
  }

  /** Asks the thread to release what it holds and exit; resolves once it has. */
  dispose(): Promise<void> {
    if (this.stopped !== undefined) return Promise.resolve();
    this.stopped = new Error(`${this.options.what} is closed`);
    return new Promise<void>((resolve) => {
      this.worker.once('exit', () => resolve());
      this.worker.postMessage({ type: 'dispose' } satisfies ToPoolThread<Job>);
    });
  }

  private onMessage(message: FromPoolThread<Result, unknown>): void {
    if (message.type !== 'result' && message.type !== 'error') return;
    const pending = this.pending.get(message.id);
    if (pending === undefined) return;
    this.pending.delete(message.id);
    this.answered += 1;
    if (message.type === 'result') pending.resolve(message.result);
    else pending.reject(rebuiltError(message.error, this.options.rebuildError));
  }

  private stop(error: Error): void {
    const unexpected = this.stopped === undefined;
    this.stopped ??= error;
    for (const { reject } of this.pending.values()) reject(this.stopped);
    this.pending.clear();
    if (unexpected) this.onUnexpectedStop(this);
  }
}

function spawnWorker(script: URL, workerData: unknown): Worker {
  return new Worker(script, { workerData });
}

/** Starts one thread; resolves with its identity once it is ready, or rejects with why it could not start. */
async function startWorker<Identity>(options: WorkerPoolOptions): Promise<{ worker: Worker; identity: Identity }> {
  const worker = (options.spawn ?? spawnWorker)(options.script, options.workerData);
  try {
    const identity = await new Promise<Identity>((resolve, reject) => {
      const onExit = (code: number): void =>
        reject(new WorkerThreadExitedError(options.what, `exit code ${code} during start-up`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (message: FromPoolThread<unknown, Identity>) => {
        // Only these listeners: Node's Worker keeps its own ones on the same object.
        worker.off('error', reject);
        worker.off('exit', onExit);
        if (message.type === 'ready') resolve(message.identity);
        else if (message.type === 'failed') reject(rebuiltError(message.error, options.rebuildError));
        else reject(new Error(`${options.what}: unexpected ${message.type} message during start-up`));
      });
    });
    return { worker, identity };
  } catch (error) {
    await worker.terminate();
    throw error;
  }
}

/**
 * Worker threads that each do the same work (one engine copy, one tokenizer), as one pool: a job goes to the least
 * busy live thread. A thread that stops while the pool is open is replaced: the jobs it held fail once, later ones
 * run on the replacement, and jobs sent while no thread is alive wait for it. A replacement that cannot start, or
 * that stops before answering a single job, means the threads cannot work here: its slot stays empty and `failure`
 * says why (the liveness probe fails, so the process is restarted).
 */
export class WorkerPool<Job, Result, Identity> {
  private closed = false;
  private readonly replacements = new Set<Promise<void>>();
  /** Why the pool can no longer be trusted to heal, once a replacement failed. */
  failure: Error | undefined;
  /** Threads started to replace one that stopped. */
  replaced = 0;

  private constructor(
    private readonly threads: PoolThread<Job, Result>[],
    private readonly options: WorkerPoolOptions,
    readonly identity: Identity,
  ) {}

  /** Starts every thread; resolves once all are ready, or rejects (stopping the others) if one cannot start. */
  static async start<Job, Result, Identity>(options: WorkerPoolOptions): Promise<WorkerPool<Job, Result, Identity>> {
    const outcomes = await Promise.allSettled(
      Array.from({ length: options.size }, () => startWorker<Identity>(options)),
    );
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(
        outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.worker.terminate() : undefined)),
      );
      throw failed.reason;
    }
    const started = outcomes.map(
      (outcome) => (outcome as PromiseFulfilledResult<{ worker: Worker; identity: Identity }>).value,
    );
    const pool = new WorkerPool<Job, Result, Identity>([], options, (started[0] as { identity: Identity }).identity);
    for (const { worker } of started) pool.threads.push(pool.adopt(worker, false));
    return pool;
  }

  get size(): number {
    return this.threads.length;
  }

  /** Threads alive now. */
  get live(): number {
    return this.threads.filter((thread) => thread.stopped === undefined).length;
  }

  async run(job: Job, transfer: readonly ArrayBuffer[] = []): Promise<Result> {
    if (this.closed) throw new Error(`${this.options.what} is closed`);
    let thread = this.leastBusy();
    if (thread === undefined && this.replacements.size > 0) {
      await Promise.allSettled([...this.replacements]);
      thread = this.leastBusy();
    }
    if (thread === undefined)
      throw this.failure ?? new WorkerThreadExitedError(this.options.what, 'no thread left to replace it');
    return thread.run(job, transfer);
  }

  /** Lets each thread release what it holds and exit; threads stopped this way are not replaced. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.replacements]);
    await Promise.all(this.threads.map((thread) => thread.dispose()));
  }

  private leastBusy(): PoolThread<Job, Result> | undefined {
    let best: PoolThread<Job, Result> | undefined;
    for (const thread of this.threads) {
      if (thread.stopped === undefined && (best === undefined || thread.load < best.load)) best = thread;
    }
    return best;
  }

  private adopt(worker: Worker, isReplacement: boolean): PoolThread<Job, Result> {
    return new PoolThread<Job, Result>(isReplacement, worker, this.options, (stopped) => this.replace(stopped));
  }

  /** Starts a thread in place of one that stopped, unless that one was itself a replacement that never worked. */
  private replace(stopped: PoolThread<Job, Result>): void {
    if (this.closed) return;
    if (stopped.isReplacement && stopped.answered === 0) {
      this.failure ??= stopped.stopped;
      return;
    }
    const replacement = startWorker<Identity>(this.options).then(
      async ({ worker }) => {
        const index = this.threads.indexOf(stopped);
        if (this.closed || index < 0) {
          await worker.terminate();
          return;
        }
        this.threads[index] = this.adopt(worker, true);
        this.replaced += 1;
      },
      (error: Error) => {
        this.failure ??= error;
      },
    );
    this.replacements.add(replacement);
    void replacement.finally(() => this.replacements.delete(replacement));
  }
}
