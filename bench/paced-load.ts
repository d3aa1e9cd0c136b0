import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { summarizeLatencies } from './latency.js';
import type { LoadResult } from './load-result.js';
import { timingBreakdown, type TimedAnswer } from './timing-breakdown.js';

export interface PacedSpec {
  url: string;
  bodies: readonly string[];
  textsPerRequest: number;
  /** Requests per second, evenly spaced. */
  rate: number;
  durationSeconds: number;
  timeoutSeconds: number;
  /** Most connections open at once; a request with none free waits, and that wait counts in its latency. */
  maxConnections: number;
}

/**
 * Open loop at a fixed rate with evenly spaced arrivals: request k is due at start + k / rate whether or not
 * earlier ones have been answered, and its latency counts from when it was due, not from when it could be sent
 * (no coordinated omission). autocannon's overallRate sends each second's quota in a burst at the start of the
 * second, which measures burst absorption rather than latency at a steady rate; both are reported.
 */
export async function runPaced(spec: PacedSpec): Promise<LoadResult> {
  const target = new URL('/analyze', spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.maxConnections });
  const latencies: number[] = [];
  const answers: TimedAnswer[] = [];
  const statusCodes: Record<string, number> = {};
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  let inFlight = 0;
  let allSent: () => void = () => {};
  const drained = new Promise<void>((resolve) => (allSent = resolve));
  let sendingDone = false;

  const settle = (): void => {
    inFlight -= 1;
    if (sendingDone && inFlight === 0) allSent();
  };
  const send = (dueAt: number, body: string): void => {
    inFlight += 1;
    let finished = false;
    const finish = (outcome: () => void): void => {
      if (finished) return;
      finished = true;
      outcome();
      settle();
    };
    const req = request(
      target,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.once('end', () =>
          finish(() => {
            const code = res.statusCode ?? 0;
            statusCodes[code] = (statusCodes[code] ?? 0) + 1;
            if (code >= 200 && code < 300) {
              const latencyMs = performance.now() - dueAt;
              latencies.push(latencyMs);
              answers.push({ latencyMs, headers: res.headers });
            } else non2xx += 1;
          }),
        );
      },
    );
    req.setTimeout(Math.max(1, dueAt + spec.timeoutSeconds * 1000 - performance.now()), () => {
      finish(() => (timeouts += 1));
      req.destroy();
    });
    req.once('error', () => finish(() => (errors += 1)));
    req.end(body);
  };

  const interval = 1000 / spec.rate;
  const start = performance.now();
  const end = start + spec.durationSeconds * 1000;
  let k = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      for (let due = start + k * interval; due <= now && due < end; due = start + k * interval) {
        send(due, spec.bodies[k % spec.bodies.length] as string);
        k += 1;
      }
      if (start + k * interval >= end) return resolve();
      setTimeout(tick, Math.max(0, start + k * interval - performance.now()));
    };
    tick();
  });
  sendingDone = true;
  if (inFlight > 0) await drained;
  agent.destroy();
  // Delivered rate over the sending window; the tail (answers still arriving after it) is not more time at load.
  const seconds = spec.durationSeconds;
  const ok = latencies.length;
  const breakdown = timingBreakdown(answers);
  return {
    ...(breakdown === undefined ? {} : { breakdown }),
    generator: 'paced',
    connections: spec.maxConnections,
    textsPerRequest: spec.textsPerRequest,
    targetRate: spec.rate,
    seconds,
    ok,
    reqPerSec: ok / seconds,
    textsPerSec: (ok * spec.textsPerRequest) / seconds,
    latencyMs: summarizeLatencies(latencies),
    non2xx,
    statusCodes,
    errors,
    timeouts,
  };
}
