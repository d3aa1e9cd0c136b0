import type { LatencySummary } from './latency.js';
import type { TimingBreakdown } from './timing-breakdown.js';

/** What one load run measured from the client side. */
export interface LoadResult {
  generator: 'autocannon' | 'autocannon-overallRate' | 'paced' | 'one-client';
  connections: number;
  textsPerRequest: number;
  /** Requests per second asked for (open loop); absent for closed loop. */
  targetRate?: number;
  seconds: number;
  /** Requests answered 2xx. */
  ok: number;
  reqPerSec: number;
  textsPerSec: number;
  latencyMs: LatencySummary;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** Connection errors other than timeouts. */
  errors: number;
  /** Requests the client gave up on after the timeout. */
  timeouts: number;
  /** Where the answered requests' time went, from the service's timing headers (node:http generators only). */
  breakdown?: TimingBreakdown;
}

/** Requests that did not get a 2xx answer, whatever the reason. */
export function failures(result: LoadResult): number {
  return result.non2xx + result.errors + result.timeouts;
}
