import type { IncomingHttpHeaders } from 'node:http';
import { summarizeLatencies, type LatencySummary } from './latency.js';

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

/** The bench's texts by length (tokens the model sees): SST-2's sentences and the multi-sentence reviews. */
export const lengthClasses = [
  { name: 'sentences', maxTokens: 64 },
  { name: 'reviews', maxTokens: Infinity },
] as const;

export type LengthClassName = (typeof lengthClasses)[number]['name'];

/** The requests of one length class: their latency at the client and where their time went. */
export interface LengthClassTiming {
  name: LengthClassName;
  latencyMs: LatencySummary;
  parts: TimingParts;
  /** Their slowest 1% (at least one). */
  slowest1Percent: TimingParts;
}

export interface TimingBreakdown {
  all: TimingParts;
  /** The slowest 1% of the requests by client latency (at least one): where the tail's time goes. */
  slowest1Percent: TimingParts;
  /** The same per length class (by x-compute-tokens), those with any requests. */
  byLength: LengthClassTiming[];
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
  const byLength: LengthClassTiming[] = [];
  for (const lengthClass of lengthClasses) {
    const members = sorted.filter((a) => lengthClassOf(number(a.headers, 'x-compute-tokens')) === lengthClass.name);
    if (members.length === 0) continue;
    byLength.push({
      name: lengthClass.name,
      latencyMs: summarizeLatencies(members.map((a) => a.latencyMs)),
      parts: partsOf(members),
      slowest1Percent: partsOf(slowest1Percent(members)),
    });
  }
  return { all: partsOf(sorted), slowest1Percent: partsOf(slowest1Percent(sorted)), byLength };
}

/** The groups a breakdown is shown in: all requests, their slowest 1%, and the same per length class. */
export function timingGroups(breakdown: TimingBreakdown): [string, TimingParts][] {
  return [
    ['all', breakdown.all],
    ['slowest 1%', breakdown.slowest1Percent],
    ...breakdown.byLength.flatMap((c): [string, TimingParts][] => [
      [`${c.name} (p50 ${c.latencyMs.p50.toFixed(1)}, p99 ${c.latencyMs.p99.toFixed(1)} ms)`, c.parts],
      [`${c.name}, slowest 1%`, c.slowest1Percent],
    ]),
  ];
}

function lengthClassOf(tokens: number): LengthClassName {
  return lengthClasses.find((c) => tokens <= c.maxTokens)?.name ?? 'reviews';
}

/** The slowest 1% (at least one) of answers sorted by ascending latency. */
function slowest1Percent(sorted: readonly TimedAnswer[]): readonly TimedAnswer[] {
  return sorted.slice(Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length)));
}
