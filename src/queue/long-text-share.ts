import { performance } from 'node:perf_hooks';

/** How fast past engine time stops counting: after this long, a batch's time counts half. */
const halfLifeMs = 1000;

/**
 * LONG_TEXT_TOKENS as given, or for `auto` half the model's maximum length: texts cut to the maximum (what a client
 * sending megabytes gets) are long, and ordinary reviews of a few hundred words are not.
 */
export function resolveLongTextTokens(setting: number | 'auto', maxLength: number): number {
  return setting === 'auto' ? Math.max(1, Math.floor(maxLength / 2)) : setting;
}

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
 * texts wait, a long batch may start only if long ones have had at most `longTextShare` of that time, and only as
 * many at once as that share of the engine's instances (at least one). With no short text waiting a long one always
 * runs, so the engine never idles because of this.
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

  /**
   * How many long batches may run at once while short texts wait, given the engine's instances: their share of
   * them, and at least one. The time share is counted when batches finish, so without this every instance could
   * start a long batch in the same moment and short texts would wait for all of them.
   */
  concurrentLongBatches(instances: number): number {
    if (this.limits.longTextShare >= 1) return instances;
    return Math.max(1, Math.floor(this.limits.longTextShare * instances));
  }

  /** Counts a finished batch's engine time. */
  record(long: boolean, seconds: number, now = performance.now()): void {
    this.decay(now);
    if (long) this.longSeconds += seconds;
    else this.shortSeconds += seconds;
  }

  private decay(now: number): void {
    const factor = 0.5 ** (Math.max(0, now - this.decayedAt) / halfLifeMs);
    this.longSeconds *= factor;
    this.shortSeconds *= factor;
    this.decayedAt = now;
  }
}
