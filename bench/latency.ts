export interface LatencySummary {
  /** Milliseconds, over successful (2xx) responses. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Exact percentiles (nearest rank) of raw latencies in ms; autocannon's own histogram rounds to whole ms. */
export function summarizeLatencies(values: readonly number[]): LatencySummary {
  if (values.length === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[sorted.length - 1] as number,
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
  };
}
