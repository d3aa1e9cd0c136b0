import type { IncomingHttpHeaders } from 'node:http';

/** One answered request: its latency at the client and the server's timing headers (src/timing/request-timing.ts). */
export interface TimedAnswer {
  latencyMs: number;
  headers: IncomingHttpHeaders;
}

/** Mean milliseconds per request of each part of its latency, over a group of requests. */
export interface TimingParts {
  requests: number;
  clientMs: number;
  /** Before the server's timer starts or after it stops: connection wait, the event loop, the load generator. */
  outsideServerMs: number;
  tokenizationMs: number;
  queueMs: number;
  inferenceMs: number;
  /** Server time not in the three above: hand-offs to the tokenizer and engine threads, routing, serialization. */
  handOffMs: number;
  computeTokens: number;
}

export interface TimingBreakdown {
  all: TimingParts;
  /** The slowest 1% of the requests by client latency (at least one): where the tail's time goes. */
  slowest1Percent: TimingParts;
}

const number = (headers: IncomingHttpHeaders, name: string): number => Number(headers[name] ?? NaN);

function partsOf(answers: readonly TimedAnswer[]): TimingParts {
  const mean = (value: (answer: TimedAnswer) => number): number =>
    answers.reduce((sum, answer) => sum + value(answer), 0) / Math.max(1, answers.length);
  const total = (a: TimedAnswer) => number(a.headers, 'x-total-time');
  const tokenization = (a: TimedAnswer) => number(a.headers, 'x-tokenization-time');
  const queue = (a: TimedAnswer) => number(a.headers, 'x-queue-time');
  const inference = (a: TimedAnswer) => number(a.headers, 'x-inference-time');
  return {
    requests: answers.length,
    clientMs: mean((a) => a.latencyMs),
    outsideServerMs: mean((a) => a.latencyMs - total(a)),
    tokenizationMs: mean(tokenization),
    queueMs: mean(queue),
    inferenceMs: mean(inference),
    handOffMs: mean((a) => total(a) - tokenization(a) - queue(a) - inference(a)),
    computeTokens: mean((a) => number(a.headers, 'x-compute-tokens')),
  };
}

/**
 * Where the time of the answered requests went, from the TEI timing headers the service sends (whole ms, truncated,
 * so each part reads up to 1 ms low); undefined where the server sends none (the baselines).
 */
export function timingBreakdown(answers: readonly TimedAnswer[]): TimingBreakdown | undefined {
  const timed = answers.filter((a) => a.headers['x-total-time'] !== undefined);
  if (timed.length === 0) return undefined;
  const sorted = [...timed].sort((a, b) => a.latencyMs - b.latencyMs);
  const tail = sorted.slice(Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length)));
  return { all: partsOf(sorted), slowest1Percent: partsOf(tail) };
}
