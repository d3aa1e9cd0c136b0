import { failures, type LoadResult } from './load-result.js';
import type { ScenarioResult, TargetCheck } from './report.js';

const openLoops = [
  { key: 'open-paced', label: 'evenly spaced' },
  { key: 'open-autocannon', label: 'autocannon overallRate, bursts each second' },
] as const;

const ms = (value: number): string => `${value.toFixed(1)} ms`;
const times = (value: number): string => `${value.toFixed(2)}×`;

/**
 * The tail at half capacity against the idle server (one client) of the same run and text mix: the p99 over all
 * requests against the idle p50 (the target as the issue wrote it) and against the idle p99 (same percentile), and,
 * where the load generator records each request's length (not autocannon), each length class's p99 against its
 * own idle p50 and p99. The bench's texts mix short sentences with reviews several times as long, so the idle p99
 * of the mix is a review's compute time and the mix's p99 cannot come near the idle p50; per class it can.
 */
export function tailChecks(scenarios: readonly ScenarioResult[]): TargetCheck[] {
  const find = (key: string): LoadResult | undefined =>
    scenarios.find((s) => s.server === 'service' && s.key === key)?.load;
  const idle = find('c1');
  if (idle === undefined) return [];
  const checks: TargetCheck[] = [];
  for (const { key, label } of openLoops) {
    const open = find(key);
    if (open === undefined) continue;
    const p99 = open.latencyMs.p99;
    const ok = failures(open) === 0;
    const prefix = `open loop at half capacity (${label})`;
    checks.push({
      target: `${prefix}, all texts: p99 ≤ 3× idle p50 (the target as written)`,
      measured: `${open.targetRate} req/s: p99 ${ms(p99)} vs idle p50 ${ms(idle.latencyMs.p50)} (${times(p99 / idle.latencyMs.p50)}), ${failures(open)} failed`,
      met: ok && p99 <= 3 * idle.latencyMs.p50,
    });
    checks.push({
      target: `${prefix}, all texts: p99 ≤ 3× idle p99 (same percentile)`,
      measured: `p99 ${ms(p99)} vs idle p99 ${ms(idle.latencyMs.p99)} (${times(p99 / idle.latencyMs.p99)})`,
      met: ok && p99 <= 3 * idle.latencyMs.p99,
    });
    for (const lengthClass of open.breakdown?.byLength ?? []) {
      const idleClass = idle.breakdown?.byLength.find((c) => c.name === lengthClass.name);
      if (idleClass === undefined) continue;
      const classP99 = lengthClass.latencyMs.p99;
      checks.push({
        target: `${prefix}, ${lengthClass.name} only: p99 ≤ 3× their idle p50`,
        measured:
          `${lengthClass.parts.requests} requests: p99 ${ms(classP99)} vs idle p50 ${ms(idleClass.latencyMs.p50)} ` +
          `(${times(classP99 / idleClass.latencyMs.p50)}), idle p99 ${ms(idleClass.latencyMs.p99)} (${times(classP99 / idleClass.latencyMs.p99)})`,
        met: ok && classP99 <= 3 * idleClass.latencyMs.p50,
      });
    }
  }
  return checks;
}
