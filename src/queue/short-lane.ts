/** When the short lane stands aside: the engine's instances, the threshold, and what counts as a backlog. */
export interface ShortLaneLimits {
  /** A batch whose longest text has more tokens than this is long here; 0: the lane is off. */
  shortLaneTokens: number;
  /** The engine's instances: batches that may run at once. */
  instances: number;
  /** With this many texts waiting the server is loaded, and every instance takes whatever is next. */
  backlog: number;
}

/**
 * Keeps one engine instance out of long batches while the queue is short, so a short text arriving meanwhile waits
 * at most for a short batch, not for a long one on every instance. A long text then waits for the long batch ahead
 * of it instead of running beside it, which is what its latency pays. With a backlog the lane stands aside: every
 * instance takes the next batch, as throughput is what counts then and short texts wait their turn anyway.
 */
export class ShortLane {
  /** Long batches handed to the engine and not finished yet. */
  private runningLong = 0;

  constructor(private readonly limits: ShortLaneLimits) {}

  isLong(longest: number): boolean {
    return this.limits.shortLaneTokens > 0 && longest > this.limits.shortLaneTokens;
  }

  /**
   * The candidates (queue indices) the next batch may be chosen from: all of them, or, when every instance but one
   * holds a long batch and there is no backlog, only the short texts (none when only long ones wait: the next batch
   * to finish dispatches again).
   */
  admit(candidates: number[], lengthAt: (index: number) => number, queued: number): number[] {
    const { instances, backlog } = this.limits;
    if (instances < 2 || queued >= backlog || this.runningLong < instances - 1) return candidates;
    return candidates.filter((index) => !this.isLong(lengthAt(index)));
  }

  started(longest: number): void {
    if (this.isLong(longest)) this.runningLong += 1;
  }

  finished(longest: number): void {
    if (this.isLong(longest)) this.runningLong -= 1;
  }
}
