import { Worker } from 'node:worker_threads';
import type { Device, EngineKind } from '../engine-choices.js';
import type { Engine } from '../engine.js';
import { buffersOf, type PackedBatch } from '../packed-batch.js';
import type { EngineIdentity, EngineThreadConfig, FromEngineThread, ToEngineThread } from './engine-thread-protocol.js';
import { DeviceUnavailableError } from '../gpu-device.js';
import { ServiceError, type PostedError } from '../../errors/error-codes.js';
import { TfjsBackendUnavailableError } from '../tfjs/tfjs-backends.js';

/** An engine thread stopped (a bug or a fatal runtime error): the process needs a restart. */
export class EngineThreadExitedError extends ServiceError {
  constructor(reason: string) {
    super('SENTIMENT_ENGINE_THREAD_EXITED', `an engine thread stopped: ${reason}`);
  }
}

/**
 * An engine thread's error on this side of the boundary, by its code: the classes callers tell apart (a device
 * that cannot be used is still a DeviceUnavailableError), else a ServiceError with the same code, name and message.
 */
function rebuiltError({ code, name, message }: PostedError): Error {
  if (code === 'SENTIMENT_DEVICE_UNAVAILABLE') return new DeviceUnavailableError(message);
  if (code === 'SENTIMENT_TFJS_BACKEND_UNAVAILABLE') return new TfjsBackendUnavailableError(message);
  if (code !== undefined) return new ServiceError(code, message);
  return Object.assign(new Error(message), { name });
}

interface Pending {
  resolve(logits: Float32Array): void;
  reject(error: Error): void;
}

/** One worker thread with its own copy of the engine; runs one batch at a time, in the order sent. */
class EngineThread {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private disposing = false;
  stopped: Error | undefined;

  constructor(private readonly worker: Worker) {
    worker.on('message', (message: FromEngineThread) => this.onMessage(message));
    worker.on('error', (error) => this.stop(new EngineThreadExitedError(error.message)));
    worker.on('exit', (code) => this.stop(new EngineThreadExitedError(`exit code ${code}`)));
  }

  get load(): number {
    return this.pending.size;
  }

  /** The batch's buffers are transferred as they are: the thread pads them, nothing is copied on the way. */
  run(batch: PackedBatch): Promise<Float32Array> {
    if (this.stopped !== undefined) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'run', id, batch } satisfies ToEngineThread, buffersOf(batch));
    });
  }

  dispose(): Promise<void> {
    this.disposing = true;
    if (this.stopped !== undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.worker.once('exit', () => resolve());
      this.worker.postMessage({ type: 'dispose' } satisfies ToEngineThread);
    });
  }

  /** Why the thread stopped, unless dispose() stopped it. */
  get failure(): Error | undefined {
    return this.disposing ? undefined : this.stopped;
  }

  private onMessage(message: FromEngineThread): void {
    if (message.type !== 'result' && message.type !== 'error') return;
    const pending = this.pending.get(message.id);
    if (pending === undefined) return;
    this.pending.delete(message.id);
    if (message.type === 'result') pending.resolve(message.logits);
    else pending.reject(rebuiltError(message.error));
  }

  private stop(error: Error): void {
    this.stopped ??= error;
    for (const { reject } of this.pending.values()) reject(this.stopped);
    this.pending.clear();
  }
}

/**
 * The engine as one or more worker threads (engine-thread.ts), each with its own session. The main thread keeps
 * parsing HTTP, tokenizing and answering while batches compute, and with several instances batches compute side
 * by side, each on its own core, with no synchronization between them (bench/README.md has the measurements).
 * Each batch goes to the least busy thread; the batcher sends at most `instances` at once.
 */
class WorkerEngine implements Engine {
  private disposed: Promise<void> | undefined;

  constructor(
    private readonly threads: readonly EngineThread[],
    readonly kind: EngineKind,
    readonly device: Device,
    readonly backend: string,
    readonly numLabels: number,
    readonly skippedBackends: readonly string[],
  ) {}

  get instances(): number {
    return this.threads.length;
  }

  /** Set once any engine thread has stopped other than by dispose(); the health probes report it. */
  get failure(): Error | undefined {
    return this.threads.map((thread) => thread.failure).find((failure) => failure !== undefined);
  }

  run(batch: PackedBatch): Promise<Float32Array> {
    if (this.disposed !== undefined) return Promise.reject(new Error('the engine has been disposed'));
    const live = this.threads.filter((thread) => thread.stopped === undefined);
    const thread = live.reduce<EngineThread | undefined>(
      (best, t) => (best === undefined || t.load < best.load ? t : best),
      undefined,
    );
    if (thread === undefined)
      return Promise.reject(this.failure ?? new EngineThreadExitedError('no engine thread left'));
    return thread.run(batch);
  }

  dispose(): Promise<void> {
    this.disposed ??= Promise.all(this.threads.map((thread) => thread.dispose())).then(() => undefined);
    return this.disposed;
  }
}

function startThread(config: EngineThreadConfig, script: URL): { worker: Worker; ready: Promise<EngineIdentity> } {
  const worker = new Worker(script, { workerData: config });
  const ready = new Promise<EngineIdentity>((resolve, reject) => {
    const onExit = (code: number): void => reject(new EngineThreadExitedError(`exit code ${code} during start-up`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.once('message', (message: FromEngineThread) => {
      worker.off('error', reject);
      worker.off('exit', onExit);
      if (message.type === 'ready') resolve(message.identity);
      else if (message.type === 'failed') {
        reject(rebuiltError(message.error));
      } else reject(new Error(`engine thread: unexpected ${message.type} message during start-up`));
    });
  });
  return { worker, ready };
}

const engineThreadScript = new URL('./engine-thread.js', import.meta.url);

/**
 * Starts `instances` engine threads and resolves once every one has loaded and warmed up its engine. `script` is
 * the thread's body: engine-thread.js, or in tests a stand-in that speaks the same protocol.
 */
export async function createWorkerEngine(
  config: EngineThreadConfig,
  instances: number,
  script: URL = engineThreadScript,
): Promise<Engine> {
  const started = Array.from({ length: instances }, () => startThread(config, script));
  const outcomes = await Promise.allSettled(started.map((thread) => thread.ready));
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(started.map(({ worker }) => worker.terminate()));
    throw failed.reason;
  }
  const identity = (outcomes[0] as PromiseFulfilledResult<EngineIdentity>).value;
  return new WorkerEngine(
    started.map(({ worker }) => new EngineThread(worker)),
    identity.kind,
    identity.device,
    identity.backend,
    identity.numLabels,
    identity.skippedBackends,
  );
}
