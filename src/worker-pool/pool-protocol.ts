import type { PostedError } from '../errors/error-codes.js';

// The messages between a WorkerPool and its threads, whatever the threads do (engine, tokenizer).

export type ToPoolThread<Job> = { type: 'job'; id: number; job: Job } | { type: 'dispose' };

export type FromPoolThread<Result, Identity> =
  | { type: 'ready'; identity: Identity }
  | { type: 'failed'; error: PostedError }
  | { type: 'result'; id: number; result: Result }
  | { type: 'error'; id: number; error: PostedError };
