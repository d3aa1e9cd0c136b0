import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { LoadResult } from './load-result.js';
import { OutcomeTally } from './outcome-tally.js';
import { sendTimed } from './timed-request.js';

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
  const tally = new OutcomeTally();
  const pending = new Set<Promise<void>>();
  const send = (dueAt: number, body: string): void => {
    const done = sendTimed(target, agent, body, dueAt, spec.timeoutSeconds * 1000).then((outcome) => {
      tally.add(outcome);
      pending.delete(done);
    });
    pending.add(done);
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
  await Promise.all(pending);
  agent.destroy();
  // Delivered rate over the sending window; the tail (answers still arriving after it) is not more time at load.
  return tally.result({
    generator: 'paced',
    connections: spec.maxConnections,
    textsPerRequest: spec.textsPerRequest,
    targetRate: spec.rate,
    seconds: spec.durationSeconds,
  });
}
