import { performance } from 'node:perf_hooks';

/** A performance.now() instant as epoch milliseconds, the time OpenTelemetry spans take. */
export function epochMsOf(instant: number): number {
  return performance.timeOrigin + instant;
}
