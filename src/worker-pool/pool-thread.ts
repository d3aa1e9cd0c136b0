import { parentPort } from 'node:worker_threads';
import { postedError } from '../errors/error-codes.js';
import type { FromPoolThread, ToPoolThread } from './pool-protocol.js';

/** What a pool thread does with one job: its result, and the buffers to transfer rather than copy with it. */
export type JobHandler<Job, Result> = (job: Job) => Promise<{ result: Result; transfer?: ArrayBuffer[] }>;

export interface PoolThreadWork<Job, Result, Identity> {
  identity: Identity;
  handle: JobHandler<Job, Result>;
  /** Releases what the thread holds before it exits. */
  dispose?(): Promise<void>;
}

/**
 * The body every pool thread shares: starts its work (a failure is posted, with its code, and the pool ends the
 * thread), says ready, answers each job by id, and exits on dispose by closing its port.
 */
export async function servePoolThread<Job, Result, Identity>(
  start: () => Promise<PoolThreadWork<Job, Result, Identity>>,
): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('a pool thread runs only as a worker thread');
  const send = (message: FromPoolThread<Result, Identity>, transfer: ArrayBuffer[] = []): void =>
    port.postMessage(message, transfer);
  let work: PoolThreadWork<Job, Result, Identity>;
  try {
    work = await start();
  } catch (error) {
    send({ type: 'failed', error: postedError(error) });
    return;
  }
  send({ type: 'ready', identity: work.identity });
  port.on('message', (message: ToPoolThread<Job>) => {
    if (message.type === 'dispose') {
      void (work.dispose?.() ?? Promise.resolve()).finally(() => port.close());
      return;
    }
    work.handle(message.job).then(
      ({ result, transfer }) => send({ type: 'result', id: message.id, result }, transfer),
      (error: unknown) => send({ type: 'error', id: message.id, error: postedError(error) }),
    );
  });
}
