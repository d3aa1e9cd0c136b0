/** When the short lane stands aside: the engine's instances, the threshold, and what counts as a backlog. */
export interface ShortLaneLimits {
  /** A batch whose longest text has more tokens than this is long here; 0: the lane is off. */
  shortLaneTokens: number;
  /** The engine's instances: batches that may run at once. */
  instances: number;
  /** With this many texts waiting the server is loaded, and every instance takes whatever is next. */
  backlog: number;
}

/** Short texts count as arriving for this long after the last one: traffic of long texts alone is not held back. */
const shortTrafficWindowMs = 1000;

/**
 * Keeps one engine instance out of long batches while the queue is short and short texts are arriving, so a short
 * text arriving meanwhile waits at most for a short batch, not for a long one on every instance. A long text then
 * waits for the long batch ahead of it instead of running beside it, which is what its latency pays. With a backlog,
 * or when only long texts arrive, the lane stands aside: every instance takes the next batch, as throughput is what
 * counts then.
 */
export class ShortLane {
  /** Long batches handed to the engine and not finished yet. */
  private runningLong = 0;
  /** When the last short text arrived (performance.now()). */
  private lastShortAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly limits: ShortLaneLimits) {}

  isLong(longest: number): boolean {
    return this.limits.shortLaneTokens > 0 && longest > this.limits.shortLaneTokens;
  }

  /** Notes a text's arrival: short ones keep the lane open for the window after them. */
  arrived(length: number, now = performance.now()): void {
    if (this.limits.shortLaneTokens > 0 && !this.isLong(length)) this.lastShortAt = now;
  }

  /**
   * The candidates (queue indices) the next batch may be chosen from: all of them, or, when every instance but one
   * holds a long batch, there is no backlog and short texts have arrived lately, only the short texts (none when only
   * long ones wait: the next batch to finish dispatches again).
   */
  admit(candidates: number[], lengthAt: (index: number) => number, queued: number, now = performance.now()): number[] {
    const { instances, backlog } = this.limits;
    if (instances < 2 || queued >= backlog || this.runningLong < instances - 1) return candidates;
    if (now - this.lastShortAt >= shortTrafficWindowMs) return candidates;
    return candidates.filter((index) => !this.isLong(lengthAt(index)));
  }

  started(longest: number): void {
    if (this.isLong(longest)) this.runningLong += 1;
  }

  finished(longest: number): void {
    if (this.isLong(longest)) this.runningLong -= 1;
  }
}
