import { performance } from 'node:perf_hooks';

/** How fast past engine time stops counting: after this long, a batch's time counts half. */
const halfLifeMs = 1000;

export interface LongTextShareLimits {
  /** A text longer than this many tokens is long; a batch is long when its longest text is. */
  longTextTokens: number;
  /** Most of the engine's recent time that long batches may take while short texts wait (0..1; 1: no limit). */
  longTextShare: number;
}

/**
 * Keeps texts of the model's maximum length from starving short ones. A max-length text costs the engine tens of
 * times what a sentence does, so a few clients sending them as fast as they can would otherwise take nearly all of
 * it. The engine time of recent batches is counted per class (decaying with a half-life of a second); while short
 * texts wait, a long batch may start only if long ones have had at most `longTextShare` of that time. With no short
 * text waiting a long one always runs, so the engine never idles because of this.
 */
export class LongTextShare {
  private longSeconds = 0;
  private shortSeconds = 0;
  private decayedAt = performance.now();

  constructor(private readonly limits: LongTextShareLimits) {}

  isLong(length: number): boolean {
    return length > this.limits.longTextTokens;
  }

  /** Whether a long batch may start now, given that short texts are waiting. */
  longMayRun(now = performance.now()): boolean {
    if (this.limits.longTextShare >= 1) return true;
    this.decay(now);
    const total = this.longSeconds + this.shortSeconds;
    return total === 0 || this.longSeconds / total <= this.limits.longTextShare;
  }

  /** Counts a finished batch's engine time. */
  record(longest: number, seconds: number, now = performance.now()): void {
    this.decay(now);
    if (this.isLong(longest)) this.longSeconds += seconds;
    else this.shortSeconds += seconds;
  }

  private decay(now: number): void {
    const factor = 0.5 ** (Math.max(0, now - this.decayedAt) / halfLifeMs);
    this.longSeconds *= factor;
    this.shortSeconds *= factor;
    this.decayedAt = now;
  }
}
