import { performance } from 'node:perf_hooks';

/** How fast past CPU time stops counting: after this long, a batch's time counts half. */
const halfLifeMs = 1000;
/** What the decayed sum of a constant rate of 1 per second tends to: the window's length, in seconds. */
const windowSeconds = halfLifeMs / 1000 / Math.LN2;

/**
 * LONG_TEXT_TOKENS as given, or for `auto` three quarters of the model's maximum length: texts cut to the maximum
 * (what a client sending megabytes gets) are long, and ordinary reviews of a couple of hundred words (about 300
 * tokens for a 512-token model) are not.
 */
export function resolveLongTextTokens(setting: number | 'auto', maxLength: number): number {
  return setting === 'auto' ? Math.max(1, Math.floor((maxLength * 3) / 4)) : setting;
}

export interface LongTextShareLimits {
  /** A text longer than this many tokens is long; a batch is long when its longest text is. */
  longTextTokens: number;
  /** Most of the machine's recent CPU time long texts may take while short ones are being served (0..1; 1: none). */
  longTextShare: number;
  /** CPUs the process may use (cpu-quota.ts): the machine's CPU time is this many seconds per second. */
  cpus?: number;
  /** Threads one batch computes on (the engine's intra-op threads): a batch's CPU time is this × its wall time. */
  threadsPerBatch?: number;
}

/**
 * Keeps texts of the model's maximum length from starving short ones. A max-length text costs tens of times what a
 * sentence does, so a few clients sending them as fast as they can would otherwise take nearly all of the machine.
 * What long texts cost is counted in CPU time, as the machine pays it: each long batch's wall time × the threads it
 * computes on, plus the tokenization of long texts; it is set against the CPU time the machine had (CPUs × wall
 * time), both decaying with a half-life of a second. Engine time alone is not enough: short texts cost the machine
 * mostly HTTP, JSON and tokenization work outside the engine, so with engine time as the measure a long batch ran
 * whenever no short text happened to be queued at that instant, and took the cores that work needed.
 *
 * While short traffic is being served (a short text waits, or a short batch ran within the last half-life), a long
 * batch may start only while long texts have had at most `longTextShare` of the machine's recent CPU time, and only
 * as many at once as that share of the engine's instances (at least one). With no short traffic, long texts run
 * whenever the engine is free, so a client sending only long texts still gets the whole machine.
 */
export class LongTextShare {
  private longCpuSeconds = 0;
  /** The machine's decayed CPU time, as if it had been there forever: no start-up burst for long texts. */
  private machineCpuSeconds: number;
  private decayedAt = performance.now();
  private lastShortAt = Number.NEGATIVE_INFINITY;
  private readonly cpus: number;
  private readonly threadsPerBatch: number;

  constructor(private readonly limits: LongTextShareLimits) {
    this.cpus = Math.max(1, limits.cpus ?? 1);
    this.threadsPerBatch = Math.max(1, limits.threadsPerBatch ?? 1);
    this.machineCpuSeconds = this.cpus * windowSeconds;
  }

  isLong(length: number): boolean {
    return length > this.limits.longTextTokens;
  }

  /** Whether short texts were served lately (a short batch finished within the last half-life). */
  shortTrafficActive(now = performance.now()): boolean {
    return now - this.lastShortAt < halfLifeMs;
  }

  /** Whether a long batch may start now, given that short traffic is being served. */
  longMayRun(now = performance.now()): boolean {
    if (this.limits.longTextShare >= 1) return true;
    this.decay(now);
    return this.longCpuSeconds <= this.limits.longTextShare * this.machineCpuSeconds;
  }

  /**
   * Milliseconds until a long batch may start with no short text waiting: until long texts are back within their
   * share, or short traffic has stopped, whichever is sooner (at least 1).
   */
  msUntilLongMayRun(now = performance.now()): number {
    this.decay(now);
    const untilShortStops = this.lastShortAt + halfLifeMs - now;
    // Solve long × f <= share × (machine × f + cpus × window × (1 - f)) for the decay factor f after the wait.
    const share = this.limits.longTextShare;
    const fresh = share * this.cpus * windowSeconds;
    const excess = this.longCpuSeconds - share * this.machineCpuSeconds + fresh;
    const factor = excess <= fresh ? 1 : fresh / excess;
    const untilWithinShare = halfLifeMs * Math.log2(1 / factor);
    return Math.max(1, Math.min(untilShortStops, untilWithinShare));
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

  /** Counts a finished batch: a long one's CPU time, and a short one as a sign of short traffic. */
  record(long: boolean, wallSeconds: number, now = performance.now()): void {
    this.decay(now);
    if (long) this.longCpuSeconds += wallSeconds * this.threadsPerBatch;
    else this.lastShortAt = now;
  }

  /** Counts CPU time spent on long texts outside the engine (their tokenization). */
  recordLongWork(cpuSeconds: number, now = performance.now()): void {
    this.decay(now);
    this.longCpuSeconds += cpuSeconds;
  }

  private decay(now: number): void {
    const factor = 0.5 ** (Math.max(0, now - this.decayedAt) / halfLifeMs);
    this.longCpuSeconds *= factor;
    this.machineCpuSeconds = this.machineCpuSeconds * factor + this.cpus * windowSeconds * (1 - factor);
    this.decayedAt = now;
  }
}
