import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { summarizeLatencies } from './latency.js';
import type { LoadResult } from './load-result.js';

export interface ClosedLoopSpec {
  url: string;
  /** Pre-serialized request bodies, sent in order, wrapping around. */
  bodies: readonly string[];
  textsPerRequest: number;
  connections: number;
  durationSeconds: number;
  timeoutSeconds: number;
  /** Sent with every request besides content-type (an API key, a client id). */
  headers?: Record<string, string>;
  /**
   * autocannon's overallRate (requests/s over all connections). Note what autocannon does with it: each
   * connection may send rate/connections requests per second and they go as soon as the second starts, so the
   * load arrives in one burst per second, not spread out. See paced-load.ts for evenly spaced arrivals.
   */
  overallRate?: number;
  /** Called with each response's status and performance.now() instant (throughput over time, failures). */
  onResponse?(statusCode: number, at: number): void;
}

/** One autocannon run against POST /analyze; latencies are recorded raw from its response events. */
export async function runAutocannon(spec: ClosedLoopSpec): Promise<LoadResult> {
  let next = 0;
  const latencies: number[] = [];
  const options: autocannon.Options = {
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
    timeout: spec.timeoutSeconds,
    pipelining: 1,
    requests: [
      {
        method: 'POST',
        path: '/analyze',
        headers: { 'content-type': 'application/json', ...spec.headers },
        setupRequest: (request) => {
          request.body = spec.bodies[next++ % spec.bodies.length];
          return request;
        },
      },
    ],
    ...(spec.overallRate === undefined
      ? {}
      : // autocannon's correction for coordinated omission takes 1/rate seconds as milliseconds and floods the
        // histogram with made-up samples; raw latencies are recorded below instead.
        { overallRate: spec.overallRate, ignoreCoordinatedOmission: true }),
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (error: unknown, finished: autocannon.Result) =>
      error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(finished),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      spec.onResponse?.(statusCode, performance.now());
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });

  const seconds = result.duration;
  const ok = result['2xx'];
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0;
  return {
    generator: spec.overallRate === undefined ? 'autocannon' : 'autocannon-overallRate',
    connections: spec.connections,
    textsPerRequest: spec.textsPerRequest,
    ...(spec.overallRate === undefined ? {} : { targetRate: spec.overallRate }),
    seconds,
    ok,
    reqPerSec: ok / seconds,
    textsPerSec: (ok * spec.textsPerRequest) / seconds,
    latencyMs: summarizeLatencies(latencies),
    non2xx: result.non2xx,
    statusCodes,
    errors: result.errors - result.timeouts,
    timeouts: result.timeouts,
  };
}
