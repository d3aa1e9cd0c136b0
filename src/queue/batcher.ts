import { performance } from 'node:perf_hooks';
import { ClientGoneError, DeadlineExceededError, DrainingError, QueueFullError } from '../errors/rejections.js';
import { selectBatch, shapeOf, type BatchLimits, type BatchShape } from './batch-policy.js';
import { FairOrder } from './fair-order.js';
import { LongTextShare, type LongTextShareLimits } from './long-text-share.js';
import { ShortLane } from './short-lane.js';

/** How long after a batch of light clients' short texts they still count as being served (limitsFor). */
const lightTrafficMs = 1000;
/** A heavy client's batch gets MAX_BATCH_TOKENS divided by this while light clients are served (limitsFor). */
const contendedBatchDivisor = 4;

export interface BatchReport extends BatchShape {
  /** Seconds each text of the batch waited in the queue before the batch started. */
  queueWaitSeconds: number[];
  /** Seconds runBatch took. */
  inferenceSeconds: number;
  /** performance.now() instants at which runBatch was called and returned. */
  startedAt: number;
  finishedAt: number;
  /** SubmitOptions.tag of each text's submission, in batch order (undefined where none was given). */
  tags: unknown[];
  /** The batch's longest text is long (BatcherOptions.longTexts); false without that option. */
  long: boolean;
  /** The batch was chosen from short texts only, ahead of an older long one held back by its share. */
  aheadOfLong: boolean;
}

/** How the batcher reports what it does (metrics, logs); it calls these and nothing else outside itself. */
export interface BatcherObserver {
  queueDepthChanged(depth: number): void;
  batchCompleted(report: BatchReport): void;
}

export interface BatcherOptions<I, O> extends BatchLimits {
  /**
   * Runs one batch; returns one output per input, in order. Called for at most maxConcurrentBatches at a time.
   * tags: each input's SubmitOptions.tag.
   */
  runBatch(inputs: readonly I[], tags: readonly unknown[]): Promise<readonly O[]>;
  /** How many batches may run at once: the engine's instances (1 when absent). */
  maxConcurrentBatches?: number;
  /** The length (tokens) of one input, which the batch limits are counted in. */
  lengthOf(input: I): number;
  /** How long the oldest text may wait for a fuller batch while the engine is idle; 0: never wait. */
  maxWaitMs: number;
  /** Most texts waiting; a submission that would exceed it is refused at once. */
  maxQueue: number;
  /** Keeps long texts from starving short ones (LongTextShare); absent: batches by arrival and length only. */
  longTexts?: LongTextShareLimits;
  /** Keeps an instance out of long batches while the queue is short (ShortLane); absent or 0: off. */
  shortLaneTokens?: number;
  observer?: BatcherObserver;
}

export interface SubmitOptions {
  /**
   * performance.now() instant after which the texts are not worth computing any more. Absent (or Infinity): no
   * deadline, the texts wait as long as it takes (a batch job has nobody waiting on a socket).
   */
  deadline?: number;
  /** Aborted when the caller stops waiting (client disconnected): its waiting texts are dropped. */
  signal?: AbortSignal;
  /** Handed back in BatchReport.tags for each of these texts, so observers can tell whose texts a batch ran. */
  tag?: unknown;
  /**
   * Who sent the texts (API key, address): clients share the engine fairly (FairOrder). Absent: one anonymous
   * client, served in arrival order.
   */
  client?: string;
}

interface Job<O> {
  deadline: number;
  tag: unknown;
  results: O[];
  remaining: number;
  settled: boolean;
  resolve(results: O[]): void;
  reject(error: Error): void;
  release(): void;
}

interface Entry<I, O> {
  job: Job<O>;
  client: string | undefined;
  /** FairOrder's finish tag: the queue is kept in ascending order of it. */
  fairTag: number;
  /** Position of this input in its submission. */
  index: number;
  input: I;
  length: number;
  enqueuedAt: number;
}

/**
 * Micro-batching queue in front of an engine. The unit of the queue is one input (one text); a submission of N
 * inputs resolves once all N are done, in order. When the engine is idle the next batch starts on the next turn of
 * the event loop (after pending I/O, so requests that arrived together run together, but with no fixed wait);
 * while a batch runs, arrivals queue and the next batch is chosen from them by the batch policy when it ends,
 * so batches grow with load by themselves. An engine with several instances (ENGINE_INSTANCES) gets up to that
 * many batches at once, each formed when an instance frees up. With `longTexts`, a long oldest text lets waiting
 * short ones go first once long batches have had their share of the engine (LongTextShare); with `shortLaneTokens`,
 * one instance stays out of long batches while the queue is short (ShortLane). The queue is kept in
 * fair order across clients (FairOrder), so "oldest" below means first in that order, which for one client is the
 * oldest.
 */
export class Batcher<I, O> {
  private queue: Entry<I, O>[] = [];
  private readonly fairOrder = new FairOrder<string | undefined>();
  /** Texts waiting per client. */
  private readonly clientDepth = new Map<string | undefined, number>();
  /** Batches handed to runBatch and not finished yet. */
  private running = 0;
  private dispatchScheduled = false;
  private waitTimer: NodeJS.Timeout | undefined;
  private draining = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly longTextShare: LongTextShare | undefined;
  /** Long batches handed to runBatch and not finished yet. */
  private runningLong = 0;
  private readonly shortLane: ShortLane;
  /** The last batch of light clients' short texts: when it started, and its anchor's client (limitsFor). */
  private lightServed: { at: number; client: string | undefined } = { at: Number.NEGATIVE_INFINITY, client: undefined };

  constructor(private readonly options: BatcherOptions<I, O>) {
    this.longTextShare = options.longTexts === undefined ? undefined : new LongTextShare(options.longTexts);
    this.shortLane = new ShortLane({
      shortLaneTokens: options.shortLaneTokens ?? 0,
      instances: options.maxConcurrentBatches ?? 1,
      backlog: options.maxBatchSize,
    });
  }

  /** Texts waiting, not counting the batch being computed. */
  get depth(): number {
    return this.queue.length;
  }

  /** Texts of one client waiting. */
  depthOf(client: string | undefined): number {
    return this.clientDepth.get(client) ?? 0;
  }

  /** Clients with texts waiting. */
  get waitingClients(): number {
    return this.clientDepth.size;
  }

  /** Which clients have texts waiting. */
  clients(): Iterable<string | undefined> {
    return this.clientDepth.keys();
  }

  submit(inputs: readonly I[], { deadline = Infinity, signal, tag, client }: SubmitOptions): Promise<O[]> {
    if (this.closed) return Promise.reject(new DrainingError());
    if (signal?.aborted) return Promise.reject(new ClientGoneError());
    if (performance.now() >= deadline) return Promise.reject(new DeadlineExceededError());
    if (inputs.length === 0) return Promise.resolve([]);
    if (this.queue.length + inputs.length > this.options.maxQueue) {
      return Promise.reject(new QueueFullError(this.queue.length, inputs.length, this.options.maxQueue));
    }

    return new Promise<O[]>((resolve, reject) => {
      const onAbort = (): void => this.fail(job, new ClientGoneError());
      // No timer without a deadline: setTimeout(Infinity) would overflow and fire after 1 ms.
      const timer = Number.isFinite(deadline)
        ? setTimeout(() => this.fail(job, new DeadlineExceededError()), deadline - performance.now())
        : undefined;
      const job: Job<O> = {
        deadline,
        tag,
        results: new Array<O>(inputs.length),
        remaining: inputs.length,
        settled: false,
        resolve,
        reject,
        release: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const enqueuedAt = performance.now();
      inputs.forEach((input, index) => {
        const length = this.options.lengthOf(input);
        const fairTag = this.fairOrder.tag(client, length);
        this.enqueue({ job, client, fairTag, index, input, length, enqueuedAt });
      });
      this.options.observer?.queueDepthChanged(this.queue.length);
      this.scheduleDispatch();
    });
  }

  /**
   * Stops waiting for fuller batches and resolves once nothing is queued or running. Submissions are still
   * accepted meanwhile: requests already being received when shutdown began are answered too.
   */
  drain(): Promise<void> {
    this.draining = true;
    this.scheduleDispatch();
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses everything from now on; texts still waiting are rejected. A running batch completes. */
  close(): void {
    this.closed = true;
    clearTimeout(this.waitTimer);
    for (const entry of [...this.queue]) this.fail(entry.job, new DrainingError());
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled || !this.canStartBatch() || this.queue.length === 0) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (!this.canStartBatch() || this.closed) return;
    const now = performance.now();
    // Deadline timers fire late when the event loop was busy; entries past their deadline never reach the engine.
    for (const entry of [...this.queue]) {
      if (now >= entry.job.deadline) this.fail(entry.job, new DeadlineExceededError());
    }
    if (this.queue.length === 0) return this.notifyIdle();

    const shared = this.candidates(now);
    const candidates = this.shortLane.admit(
      shared,
      (index) => (this.queue[index] as Entry<I, O>).length,
      this.queue.length,
      now,
    );
    clearTimeout(this.waitTimer);
    // Held back by the short lane alone: the next batch to finish dispatches again.
    if (candidates.length === 0 && shared.length > 0) return;
    if (candidates.length === 0) {
      // Only long texts wait, and short traffic keeps its share of the machine: try again once long ones may run.
      this.waitTimer = setTimeout(() => this.dispatch(), this.longTextShare?.msUntilLongMayRun(now) ?? 1);
      return;
    }
    const aheadOfLong = shared.length < this.queue.length;
    const oldest = this.queue[candidates[0] as number] as Entry<I, O>;
    const anchoredOnLight = this.isLight(oldest.client);
    const fill = this.fillFor(oldest, candidates);
    const chosen = selectBatch(
      fill.map((index) => (this.queue[index] as Entry<I, O>).length),
      this.limitsFor(oldest.client, anchoredOnLight, now),
    ).map((position) => fill[position] as number);
    const couldGrow = chosen.length === fill.length && chosen.length < this.options.maxBatchSize;
    const waitLeft = oldest.enqueuedAt + this.options.maxWaitMs - now;
    if (couldGrow && waitLeft > 0 && !this.draining) {
      this.waitTimer = setTimeout(() => this.dispatch(), waitLeft);
      return;
    }

    const picked = new Set(chosen);
    const batch = chosen.map((index) => this.queue[index] as Entry<I, O>);
    this.queue = this.queue.filter((_, index) => !picked.has(index));
    for (const entry of batch) this.countDepth(entry.client, -1);
    this.fairOrder.served(Math.min(...batch.map((entry) => entry.fairTag)));
    this.options.observer?.queueDepthChanged(this.queue.length);
    this.running += 1;
    const longest = Math.max(...batch.map((entry) => entry.length));
    const long = this.longTextShare?.isLong(longest) ?? false;
    if (long) this.runningLong += 1;
    else if (anchoredOnLight) this.lightServed = { at: now, client: oldest.client };
    this.shortLane.started(longest);
    void this.execute(batch, now, aheadOfLong, long);
    // Another instance may be free as well: it takes the next batch from what is left.
    if (this.queue.length > 0) this.scheduleDispatch();
  }

  private async execute(batch: Entry<I, O>[], startedAt: number, aheadOfLong: boolean, long: boolean): Promise<void> {
    let outputs: readonly O[] | undefined;
    let failure: Error | undefined;
    try {
      outputs = await this.options.runBatch(
        batch.map((entry) => entry.input),
        batch.map((entry) => entry.job.tag),
      );
      if (outputs.length !== batch.length) {
        throw new Error(`runBatch returned ${outputs.length} outputs for ${batch.length} inputs`);
      }
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    const finishedAt = performance.now();
    this.running -= 1;
    if (long) this.runningLong -= 1;
    this.shortLane.finished(Math.max(...batch.map((entry) => entry.length)));
    this.longTextShare?.record(long, (finishedAt - startedAt) / 1000, finishedAt);
    // The next batch goes out before this one's answers are written: an engine on its own thread then computes
    // while this thread serializes and sends them. Whatever arrived during the batch is already queued, as HTTP
    // was read meanwhile (an engine on this thread runs inside setImmediate, so it too starts after pending I/O).
    if (failure === undefined && this.queue.length > 0) this.dispatch();

    batch.forEach((entry, position) => {
      if (failure !== undefined) return this.fail(entry.job, failure);
      const job = entry.job;
      if (job.settled) return;
      job.results[entry.index] = (outputs as readonly O[])[position] as O;
      job.remaining -= 1;
      if (job.remaining === 0) {
        job.settled = true;
        job.release();
        job.resolve(job.results);
      }
    });
    if (failure === undefined) {
      this.options.observer?.batchCompleted({
        ...shapeOf(
          batch.map((entry) => entry.length),
          this.options.batchShapes,
        ),
        queueWaitSeconds: batch.map((entry) => (startedAt - entry.enqueuedAt) / 1000),
        inferenceSeconds: (finishedAt - startedAt) / 1000,
        startedAt,
        finishedAt,
        tags: batch.map((entry) => entry.job.tag),
        long,
        aheadOfLong,
      });
    }
    if (this.queue.length === 0) this.notifyIdle();
    else this.scheduleDispatch();
  }

  /**
   * The queue indices the next batch is chosen from, oldest first (selectBatch anchors on the first): the whole
   * queue, or, when the oldest is long and short traffic is being served (LongTextShare) while long batches have
   * had their share of the machine lately or already hold as many engine instances as their share allows, only its
   * short texts; none when only long ones wait then.
   */
  private candidates(now: number): number[] {
    const all = this.queue.map((_, index) => index);
    const share = this.longTextShare;
    const oldest = this.queue[0];
    if (share === undefined || oldest === undefined || !share.isLong(oldest.length)) return all;
    const short = all.filter((index) => !share.isLong((this.queue[index] as Entry<I, O>).length));
    if (short.length === 0 && !share.shortTrafficActive(now)) return all;
    const mayStartLong =
      this.runningLong < share.concurrentLongBatches(this.options.maxConcurrentBatches ?? 1) && share.longMayRun(now);
    return mayStartLong ? all : short;
  }

  /**
   * The candidates a batch anchored on `anchor` may hold. A client with fewer texts waiting than a batch holds is
   * light: a batch anchored on a light client's text takes only light clients' texts, so it stays as small and quick
   * as their traffic, instead of being filled up with a flooding client's backlog. Any other batch takes anyone's.
   */
  private fillFor(anchor: Entry<I, O>, candidates: number[]): number[] {
    if (!this.isLight(anchor.client)) return candidates;
    return candidates.filter((index) => this.isLight((this.queue[index] as Entry<I, O>).client));
  }

  /** A client with fewer texts waiting than a batch holds. */
  private isLight(client: string | undefined): boolean {
    return this.depthOf(client) < this.options.maxBatchSize;
  }

  /**
   * The limits of the next batch, anchored on a text of `client`. While another client's short texts are served as
   * a light client's (such a batch started within the last second), a heavy client's batch gets a fraction of the
   * token budget: the light client's next text then waits for a short batch to finish, not a full one, while the
   * heavy client loses little, as batches past a few texts gain little per text on CPU. A client alone keeps full
   * batches.
   */
  private limitsFor(client: string | undefined, anchoredOnLight: boolean, now: number): BatchLimits {
    const contended = now - this.lightServed.at < lightTrafficMs && this.lightServed.client !== client;
    if (anchoredOnLight || !contended) return this.options;
    return {
      ...this.options,
      maxBatchTokens: Math.max(1, Math.floor(this.options.maxBatchTokens / contendedBatchDivisor)),
    };
  }

  /** Counts CPU time spent on long texts before they were queued (tokenization) against their share. */
  recordLongWork(cpuSeconds: number): void {
    this.longTextShare?.recordLongWork(cpuSeconds);
  }

  private canStartBatch(): boolean {
    return this.running < (this.options.maxConcurrentBatches ?? 1);
  }

  private fail(job: Job<O>, error: Error): void {
    if (job.settled) return;
    job.settled = true;
    job.release();
    const before = this.queue.length;
    this.queue = this.queue.filter((entry) => {
      if (entry.job !== job) return true;
      this.countDepth(entry.client, -1);
      return false;
    });
    if (this.queue.length !== before) this.options.observer?.queueDepthChanged(this.queue.length);
    job.reject(error);
  }

  /** Puts an entry in its place in fair order (after those with the same tag, so ties keep arrival order). */
  private enqueue(entry: Entry<I, O>): void {
    let low = 0;
    let high = this.queue.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.queue[middle] as Entry<I, O>).fairTag <= entry.fairTag) low = middle + 1;
      else high = middle;
    }
    this.queue.splice(low, 0, entry);
    this.countDepth(entry.client, 1);
    this.shortLane.arrived(entry.length);
  }

  private countDepth(client: string | undefined, change: number): void {
    const depth = (this.clientDepth.get(client) ?? 0) + change;
    if (depth > 0) this.clientDepth.set(client, depth);
    else this.clientDepth.delete(client);
  }

  private notifyIdle(): void {
    if (this.running > 0 || this.queue.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
