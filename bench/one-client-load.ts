import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { LoadResult } from './load-result.js';
import { OutcomeTally } from './outcome-tally.js';
import { sendTimed } from './timed-request.js';

export interface OneClientSpec {
  url: string;
  bodies: readonly string[];
  textsPerRequest: number;
  durationSeconds: number;
  timeoutSeconds: number;
}

/**
 * One client sending one request at a time over one kept-alive connection: the idle server's latency, per request
 * with its timing headers (autocannon's events carry neither the request nor the headers), so the idle latency can
 * be split by text length like the open loop's.
 */
export async function runOneClient(spec: OneClientSpec): Promise<LoadResult> {
  const target = new URL('/analyze', spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const tally = new OutcomeTally();
  const end = performance.now() + spec.durationSeconds * 1000;
  for (let k = 0; performance.now() < end; k += 1) {
    const body = spec.bodies[k % spec.bodies.length] as string;
    tally.add(await sendTimed(target, agent, body, performance.now(), spec.timeoutSeconds * 1000));
  }
  agent.destroy();
  return tally.result({
    generator: 'one-client',
    connections: 1,
    textsPerRequest: spec.textsPerRequest,
    seconds: spec.durationSeconds,
  });
}
