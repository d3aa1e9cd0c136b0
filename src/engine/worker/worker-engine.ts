import type { PostedError } from '../../errors/error-codes.js';
import { WorkerPool, type WorkerPoolOptions } from '../../worker-pool/worker-pool.js';
import type { Engine } from '../engine.js';
import { DeviceUnavailableError } from '../gpu-device.js';
import { buffersOf, type PackedBatch } from '../packed-batch.js';
import { TfjsBackendUnavailableError } from '../tfjs/tfjs-backends.js';
import type { EngineIdentity, EngineThreadConfig } from './engine-thread-protocol.js';

/** The engine errors callers tell apart, rebuilt from their codes (a device that cannot be used stays one). */
function rebuiltEngineError({ code, message }: PostedError): Error | undefined {
  if (code === 'SENTIMENT_DEVICE_UNAVAILABLE') return new DeviceUnavailableError(message);
  if (code === 'SENTIMENT_TFJS_BACKEND_UNAVAILABLE') return new TfjsBackendUnavailableError(message);
  return undefined;
}

/**
 * The engine as one or more worker threads (engine-thread.ts), each with its own session, in a WorkerPool. The main
 * thread keeps parsing HTTP, tokenizing and answering while batches compute, and with several instances batches
 * compute side by side, each on its own core, with no synchronization between them (bench/README.md has the
 * measurements). Each batch goes to the least busy thread; the batcher sends at most `instances` at once. A thread
 * that dies fails the batch it held and is replaced; `failure` is set only when replacing does not help.
 */
class WorkerEngine implements Engine {
  private disposed: Promise<void> | undefined;
  readonly kind;
  readonly device;
  readonly backend;
  readonly numLabels;
  readonly skippedBackends;

  constructor(private readonly pool: WorkerPool<PackedBatch, Float32Array, EngineIdentity>) {
    ({
      kind: this.kind,
      device: this.device,
      backend: this.backend,
      numLabels: this.numLabels,
      skippedBackends: this.skippedBackends,
    } = pool.identity);
  }

  get instances(): number {
    return this.pool.size;
  }

  /** Set once the engine threads cannot be replaced; the liveness probe reports it. */
  get failure(): Error | undefined {
    return this.disposed === undefined ? this.pool.failure : undefined;
  }

  /** The batch's buffers are transferred as they are: the thread pads them, nothing is copied on the way. */
  run(batch: PackedBatch): Promise<Float32Array> {
    if (this.disposed !== undefined) return Promise.reject(new Error('the engine has been disposed'));
    return this.pool.run(batch, buffersOf(batch));
  }

  dispose(): Promise<void> {
    this.disposed ??= this.pool.close();
    return this.disposed;
  }
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
  /** Creates each thread's Worker; tests pass one that keeps hold of the workers. */
  spawn?: WorkerPoolOptions['spawn'],
): Promise<Engine> {
  const pool = await WorkerPool.start<PackedBatch, Float32Array, EngineIdentity>({
    script,
    workerData: config,
    size: instances,
    what: 'an engine thread',
    rebuildError: rebuiltEngineError,
    spawn,
  });
  return new WorkerEngine(pool);
}
