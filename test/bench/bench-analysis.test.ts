import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { breakdown, type CpuProfile } from '../../bench/cpu-profile-breakdown.js';
import { prepareFlaskVenv } from '../../bench/flask-baseline.js';
import { summarizeLatencies } from '../../bench/latency.js';
import { loadSentences, requestBodies } from '../../bench/sentences.js';
import { parseMetrics, serverSideStats } from '../../bench/server-metrics.js';
import type { LoadResult } from '../../bench/load-result.js';
import type { ScenarioResult } from '../../bench/report.js';
import { tailChecks } from '../../bench/tail-checks.js';
import { timingBreakdown, type TimedAnswer } from '../../bench/timing-breakdown.js';

describe('bench: sentences', () => {
  it('ships SST-2 sentences and longer texts, one per line, in varied lengths', () => {
    const texts = loadSentences();
    assert.ok(texts.length >= 900);
    const words = texts.map((text) => text.split(/\s+/).length).sort((a, b) => a - b);
    assert.ok((words[0] as number) <= 3 && (words[words.length - 1] as number) >= 150);
  });

  it('builds bodies of consecutive texts, wrapping around', () => {
    assert.deepEqual(requestBodies(['a', 'b', 'c'], 1), ['{"text":"a"}', '{"text":"b"}', '{"text":"c"}']);
    assert.deepEqual(JSON.parse(requestBodies(['a', 'b', 'c'], 2)[2] as string), { text: ['c', 'a'] });
  });
});

describe('bench: latency summary', () => {
  it('gives nearest-rank percentiles of raw values', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.deepEqual(summarizeLatencies(values), { p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
  });
});

describe('bench: server-side stats from /metrics', () => {
  const scrape = (batches: number, texts: number, le1: number, le2: number, ratioSum: number, inferSum: number) =>
    parseMetrics(
      [
        '# HELP sentiment_batch_size Texts per batch',
        `sentiment_batch_size_bucket{le="1"} ${le1}`,
        `sentiment_batch_size_bucket{le="2"} ${le2}`,
        `sentiment_batch_size_bucket{le="+Inf"} ${batches}`,
        `sentiment_batch_size_sum ${texts}`,
        `sentiment_batch_size_count ${batches}`,
        `sentiment_batch_padding_ratio_sum ${ratioSum}`,
        `sentiment_inference_duration_seconds_sum ${inferSum}`,
        `sentiment_rejections_total{reason="queue_full"} ${batches === 0 ? 0 : 3}`,
      ].join('\n'),
    );

  it('reports the deltas between two scrapes', () => {
    const stats = serverSideStats(scrape(0, 0, 0, 0, 0, 0), scrape(4, 10, 1, 2, 0.8, 1.5), 3);
    assert.equal(stats.batches, 4);
    assert.equal(stats.meanBatchSize, 2.5);
    assert.deepEqual(stats.batchSizeShares, { '1': 0.25, '2': 0.25, '+Inf': 0.5 });
    assert.equal(stats.meanPaddingRatio, 0.2);
    assert.equal(stats.engineBusyShare, 0.5);
    assert.deepEqual(stats.rejections, { queue_full: 3 });
  });
});

describe('bench: CPU profile breakdown', () => {
  it('charges each sample to the innermost frame a rule names, within the window, per text', () => {
    const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({
      id,
      callFrame: { functionName, url },
      children,
    });
    const profile: CpuProfile = {
      nodes: [
        frame(1, '(root)', '', [2, 5, 7]),
        frame(2, 'processImmediate', 'node:internal/timers', [3]),
        frame(3, '', 'file:///x/node_modules/onnxruntime-node/dist/backend.js', [4]),
        frame(4, 'run', ''),
        frame(5, 'parse', 'file:///x/node_modules/secure-json-parse/index.js', [6]),
        frame(6, 'emit', 'node:events'),
        frame(7, '(idle)', ''),
      ],
      startTime: 1000,
      endTime: 1000 + 5 * 1000,
      // Samples 1 ms apart: run, run, parse>emit, idle, run (outside the window).
      samples: [4, 4, 6, 7, 4],
      timeDeltas: [0, 1000, 1000, 1000, 1000],
    };
    const result = breakdown(profile, 1000, 5000, 2);
    assert.deepEqual(
      result.rows.map((row) => [row.category, row.ms, row.microsPerText]),
      [
        ['ORT inference (session.run, native)', 2, 1000],
        ['JSON parse', 1, 500],
      ],
    );
    assert.equal(result.busyShare, 3 / 4);
  });
});

describe('bench: where open-loop time goes, from the timing headers', () => {
  const answer = (
    latencyMs: number,
    total: number,
    tokenization: number,
    queue: number,
    inference: number,
    tokens = 10,
  ): TimedAnswer => ({
    latencyMs,
    headers: {
      'x-total-time': String(total),
      'x-tokenization-time': String(tokenization),
      'x-queue-time': String(queue),
      'x-inference-time': String(inference),
      'x-compute-tokens': String(tokens),
    },
  });

  it('splits client latency into outside-server, tokenization, queue, inference and hand-off, for all and the slowest 1%', () => {
    const answers = [...Array.from({ length: 99 }, () => answer(5, 4, 0, 1, 2)), answer(50, 40, 1, 30, 5)];
    const result = timingBreakdown(answers);
    assert.ok(result !== undefined);
    assert.deepEqual(result.slowest1Percent, {
      requests: 1,
      clientMs: 50,
      outsideServerMs: 10,
      tokenizationMs: 1,
      queueMs: 30,
      inferenceMs: 5,
      handOffMs: 4,
      computeTokens: 10,
    });
    assert.equal(result.all.requests, 100);
    assert.equal(result.all.queueMs, (99 * 1 + 30) / 100);
  });

  it('gives nothing for a server that sends no timing headers (the baselines)', () => {
    assert.equal(timingBreakdown([{ latencyMs: 3, headers: {} }]), undefined);
  });

  /** 90 sentences (20 tokens) and 10 reviews (150 tokens), each class at its own latencies. */
  const mix = (sentenceMs: number, reviewMs: number): TimedAnswer[] => [
    ...Array.from({ length: 90 }, (_, i) => answer(sentenceMs + i / 100, 1, 0, 0, 1, 20)),
    ...Array.from({ length: 10 }, (_, i) => answer(reviewMs + i, 1, 0, 0, 1, 150)),
  ];

  it('splits the same by length class, from x-compute-tokens', () => {
    const result = timingBreakdown(mix(4, 30));
    assert.deepEqual(
      result?.byLength.map((c) => [c.name, c.parts.requests, c.latencyMs.p50, c.latencyMs.max]),
      [
        ['sentences', 90, 4.44, 4.89],
        ['reviews', 10, 34, 39],
      ],
    );
  });

  it('checks the half-load p99 against the idle p50 and p99, overall and per length class', () => {
    const load = (answers: TimedAnswer[], key: string): ScenarioResult => {
      const breakdown = timingBreakdown(answers);
      const latencyMs = summarizeLatencies(answers.map((a) => a.latencyMs));
      const result: LoadResult = {
        generator: key === 'c1' ? 'one-client' : 'paced',
        connections: 1,
        textsPerRequest: 1,
        seconds: 1,
        ok: answers.length,
        reqPerSec: answers.length,
        textsPerSec: answers.length,
        latencyMs,
        non2xx: 0,
        statusCodes: {},
        errors: 0,
        timeouts: 0,
        ...(breakdown === undefined ? {} : { breakdown }),
      };
      return { server: 'service', key, title: key, load: result, loadAverage1m: 0 };
    };
    // Idle: sentences about 4 ms, reviews 30-39 ms; at half load sentences 10 ms, reviews 60-69 ms.
    const checks = tailChecks([load(mix(4, 30), 'c1'), load(mix(10, 60), 'open-paced')]);
    assert.deepEqual(
      checks.map((check) => [check.target.replace(/.*\), /, ''), check.met]),
      [
        ['all texts: p99 ≤ 3× idle p50 (the target as written)', false],
        ['all texts: p99 ≤ 3× idle p99 (same percentile)', true],
        ['sentences only: p99 ≤ 3× their idle p50', true],
        ['reviews only: p99 ≤ 3× their idle p50', true],
      ],
    );
  });
});

describe('bench: the Flask baseline', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'flask-baseline-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('is skipped, saying why, where Python or torch is absent', () => {
    const noTorch = join(scratch, 'python-without-torch');
    writeFileSync(noTorch, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    const saved = process.env.BENCH_PYTHON;
    try {
      process.env.BENCH_PYTHON = join(scratch, 'nowhere');
      assert.deepEqual(
        prepareFlaskVenv(() => {}),
        { skipped: `no ${join(scratch, 'nowhere')} (set BENCH_PYTHON to a python3 with torch)` },
      );
      process.env.BENCH_PYTHON = noTorch;
      const skipped = prepareFlaskVenv(() => {});
      assert.ok('skipped' in skipped && /has no torch/.test(skipped.skipped));
    } finally {
      if (saved === undefined) delete process.env.BENCH_PYTHON;
      else process.env.BENCH_PYTHON = saved;
    }
  });
});
