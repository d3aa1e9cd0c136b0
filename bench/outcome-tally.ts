import { summarizeLatencies } from './latency.js';
import type { LoadResult } from './load-result.js';
import type { TimedOutcome } from './timed-request.js';
import { timingBreakdown, type TimedAnswer } from './timing-breakdown.js';

/** What a load run is, besides what it counted. */
export type RunShape = Pick<LoadResult, 'generator' | 'connections' | 'textsPerRequest' | 'targetRate' | 'seconds'>;

/** Counts the outcomes of the requests of one load run (node:http generators) and sums them up as a LoadResult. */
export class OutcomeTally {
  private readonly latencies: number[] = [];
  private readonly answers: TimedAnswer[] = [];
  private readonly statusCodes: Record<string, number> = {};
  private non2xx = 0;
  private errors = 0;
  private timeouts = 0;

  add(outcome: TimedOutcome): void {
    if (outcome.kind === 'error') this.errors += 1;
    else if (outcome.kind === 'timeout') this.timeouts += 1;
    else {
      const code = outcome.statusCode;
      this.statusCodes[code] = (this.statusCodes[code] ?? 0) + 1;
      if (code >= 200 && code < 300) {
        this.latencies.push(outcome.latencyMs);
        this.answers.push({ latencyMs: outcome.latencyMs, headers: outcome.headers });
      } else this.non2xx += 1;
    }
  }

  result(shape: RunShape): LoadResult {
    const ok = this.latencies.length;
    const breakdown = timingBreakdown(this.answers);
    return {
      ...shape,
      ...(breakdown === undefined ? {} : { breakdown }),
      ok,
      reqPerSec: ok / shape.seconds,
      textsPerSec: (ok * shape.textsPerRequest) / shape.seconds,
      latencyMs: summarizeLatencies(this.latencies),
      non2xx: this.non2xx,
      statusCodes: this.statusCodes,
      errors: this.errors,
      timeouts: this.timeouts,
    };
  }
}
