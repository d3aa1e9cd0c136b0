import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { Batcher, type BatcherOptions, type BatchReport } from '../../src/queue/batcher.js';
import { ClientGoneError, DeadlineExceededError, DrainingError, QueueFullError } from '../../src/errors/rejections.js';
import { waitUntil } from '../support/wait-until.js';

/** A text of the fake engine: an id to follow it by, and its length in tokens. */
interface FakeText {
  id: string;
  length: number;
}

/** A fake engine whose batches finish when the test says so; it answers each text with its id in capitals. */
class FakeEngine {
  readonly batches: string[][] = [];
  private pending: { texts: readonly FakeText[]; finish: (error?: Error) => void }[] = [];
  gated = true;

  runBatch = (texts: readonly FakeText[]): Promise<string[]> => {
    this.batches.push(texts.map((text) => text.id));
    const outputs = texts.map((text) => text.id.toUpperCase());
    if (!this.gated) return Promise.resolve(outputs);
    return new Promise((resolve, reject) => {
      this.pending.push({ texts, finish: (error) => (error ? reject(error) : resolve(outputs)) });
    });
  };

  get running(): number {
    return this.pending.length;
  }

  /** Finishes the oldest running batch (there is at most one). */
  finish(error?: Error): void {
    const batch = this.pending.shift();
    assert.ok(batch, 'no batch is running');
    batch.finish(error);
  }
}

function texts(...specs: [string, number][]): FakeText[] {
  return specs.map(([id, length]) => ({ id, length }));
}

const later = (): number => performance.now() + 60_000;

function batcherFor(engine: FakeEngine, options: Partial<BatcherOptions<FakeText, string>> = {}) {
  const reports: BatchReport[] = [];
  const depths: number[] = [];
  const batcher = new Batcher<FakeText, string>({
    runBatch: engine.runBatch,
    lengthOf: (text) => text.length,
    maxBatchSize: 32,
    maxBatchTokens: 8192,
    maxPaddingRatio: 0.5,
    maxWaitMs: 0,
    maxQueue: 100,
    observer: {
      queueDepthChanged: (depth) => depths.push(depth),
      batchCompleted: (report) => reports.push(report),
    },
    ...options,
  });
  return { batcher, reports, depths };
}

describe('Batcher', () => {
  it('runs a lone submission at once, as a batch of one', async () => {
    const engine = new FakeEngine();
    engine.gated = false;
    const { batcher } = batcherFor(engine);
    assert.deepEqual(await batcher.submit(texts(['a', 5]), { deadline: later() }), ['A']);
    assert.deepEqual(engine.batches, [['a']]);
  });

  it('queues arrivals while a batch runs and forms the next batch from all of them', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine);
    const first = batcher.submit(texts(['a', 5]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    const rest = ['b', 'c', 'd', 'e'].map((id) => batcher.submit(texts([id, 5]), { deadline: later() }));
    assert.equal(batcher.depth, 4);
    engine.finish();
    await waitUntil(() => engine.running === 1);
    engine.finish();
    assert.deepEqual(await first, ['A']);
    assert.deepEqual(await Promise.all(rest), [['B'], ['C'], ['D'], ['E']]);
    assert.deepEqual(engine.batches, [['a'], ['b', 'c', 'd', 'e']]);
  });

  it('answers a multi-text submission in order, even when its texts run in different batches', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine, { maxBatchSize: 2 });
    const blocker = batcher.submit(texts(['x', 5]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    // Lengths chosen so grouping splits them: p and r (short) run before q (long).
    const result = batcher.submit(texts(['p', 4], ['q', 60], ['r', 5]), { deadline: later() });
    engine.gated = false;
    engine.finish();
    assert.deepEqual(await result, ['P', 'Q', 'R']);
    await blocker;
    assert.deepEqual(engine.batches, [['x'], ['p', 'r'], ['q']]);
  });

  it('never lets a stream of newer short texts starve an older long one', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine, { maxBatchSize: 4 });
    const blocker = batcher.submit(texts(['s0', 4]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    const long = batcher.submit(texts(['long', 100]), { deadline: later() });
    const shorts = Array.from({ length: 12 }, (_, i) => batcher.submit(texts([`s${i + 1}`, 4]), { deadline: later() }));
    engine.finish();
    await waitUntil(() => engine.running === 1);
    assert.ok(
      engine.batches[1]?.includes('long'),
      `the oldest text is in the next batch: ${JSON.stringify(engine.batches)}`,
    );
    engine.gated = false;
    engine.finish();
    await Promise.all([blocker, long, ...shorts]);
  });

  it('refuses a submission that would overfill the queue, at once and without enqueuing any of it', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine, { maxQueue: 3 });
    const running = batcher.submit(texts(['a', 5]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    const queued = batcher.submit(texts(['b', 5], ['c', 5]), { deadline: later() });
    await assert.rejects(batcher.submit(texts(['d', 5], ['e', 5]), { deadline: later() }), QueueFullError);
    assert.equal(batcher.depth, 2);
    const fits = batcher.submit(texts(['f', 5]), { deadline: later() });
    engine.gated = false;
    engine.finish();
    assert.deepEqual(await Promise.all([running, queued, fits]), [['A'], ['B', 'C'], ['F']]);
    assert.ok(!engine.batches.flat().includes('d'));
  });

  it('rejects a submission whose deadline passes while it waits, and never computes it', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine);
    const running = batcher.submit(texts(['a', 5]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    const late = batcher.submit(texts(['b', 5], ['c', 5]), { deadline: performance.now() + 20 });
    await assert.rejects(late, DeadlineExceededError);
    assert.equal(batcher.depth, 0);
    engine.gated = false;
    engine.finish();
    await running;
    assert.deepEqual(engine.batches, [['a']]);
  });

  it('without a deadline (or with Infinity) waits as long as the engine takes: no timer can reject it', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine);
    const none = batcher.submit(texts(['a', 5]), {});
    const infinite = batcher.submit(texts(['b', 5]), { deadline: Infinity });
    let settled = false;
    void Promise.allSettled([none, infinite]).then(() => (settled = true));
    await waitUntil(() => engine.running === 1);
    // Longer than any mis-set timer would take to fire (setTimeout(Infinity) fires after 1 ms).
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(settled, false, 'still waiting for the engine');
    engine.gated = false;
    engine.finish();
    assert.deepEqual(await none, ['A']);
    assert.deepEqual(await infinite, ['B']);
  });

  it('rejects a submission whose deadline has already passed', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine);
    await assert.rejects(batcher.submit(texts(['a', 5]), { deadline: performance.now() - 1 }), DeadlineExceededError);
    assert.deepEqual(engine.batches, []);
  });

  it('rejects a submission whose deadline passes while its batch runs, without waiting for the batch', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine);
    const slow = batcher.submit(texts(['a', 5]), { deadline: performance.now() + 20 });
    await assert.rejects(slow, DeadlineExceededError);
    assert.equal(engine.running, 1);
    engine.finish();
  });

  it('drops the texts of a caller that went away before they reach the engine', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine);
    const running = batcher.submit(texts(['a', 5]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    const gone = new AbortController();
    const abandoned = batcher.submit(texts(['b', 5], ['c', 5]), { deadline: later(), signal: gone.signal });
    const kept = batcher.submit(texts(['d', 5]), { deadline: later() });
    gone.abort();
    await assert.rejects(abandoned, ClientGoneError);
    assert.equal(batcher.depth, 1);
    engine.gated = false;
    engine.finish();
    assert.deepEqual(await Promise.all([running, kept]), [['A'], ['D']]);
    assert.deepEqual(engine.batches, [['a'], ['d']]);
  });

  it('refuses a caller that is already gone', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine);
    await assert.rejects(
      batcher.submit(texts(['a', 5]), { deadline: later(), signal: AbortSignal.abort() }),
      ClientGoneError,
    );
    assert.deepEqual(engine.batches, []);
  });

  it('with MAX_WAIT_MS waits for a fuller batch while idle, and runs as soon as the batch is full', async () => {
    const engine = new FakeEngine();
    engine.gated = false;
    const { batcher } = batcherFor(engine, { maxWaitMs: 60_000, maxBatchSize: 3 });
    const a = batcher.submit(texts(['a', 5]), { deadline: later() });
    const b = batcher.submit(texts(['b', 5]), { deadline: later() });
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(engine.batches, [], 'nothing runs before the batch fills or the wait ends');
    const c = batcher.submit(texts(['c', 5]), { deadline: later() });
    assert.deepEqual(await Promise.all([a, b, c]), [['A'], ['B'], ['C']]);
    assert.deepEqual(engine.batches, [['a', 'b', 'c']]);
  });

  it('with MAX_WAIT_MS runs a partial batch once the oldest text has waited that long', async () => {
    const engine = new FakeEngine();
    engine.gated = false;
    const { batcher, reports } = batcherFor(engine, { maxWaitMs: 30, maxBatchSize: 8 });
    assert.deepEqual(await batcher.submit(texts(['a', 5], ['b', 5]), { deadline: later() }), ['A', 'B']);
    assert.ok((reports[0]?.queueWaitSeconds[0] ?? 0) >= 0.029, 'the batch waited for company');
  });

  it('drain() stops waiting for a fuller batch and resolves once everything is answered', async () => {
    const engine = new FakeEngine();
    engine.gated = false;
    const { batcher } = batcherFor(engine, { maxWaitMs: 60_000 });
    const waiting = batcher.submit(texts(['a', 5]), { deadline: later() });
    await batcher.drain();
    assert.deepEqual(await waiting, ['A']);
  });

  it('close() refuses new work and rejects what still waits; a running batch completes', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine);
    const running = batcher.submit(texts(['a', 5]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    const waiting = batcher.submit(texts(['b', 5]), { deadline: later() });
    batcher.close();
    await assert.rejects(waiting, DrainingError);
    await assert.rejects(batcher.submit(texts(['c', 5]), { deadline: later() }), DrainingError);
    engine.finish();
    assert.deepEqual(await running, ['A']);
  });

  it('fails every submission of a batch the engine failed, then carries on with the next batch', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine);
    const first = batcher.submit(texts(['a', 5]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    const second = batcher.submit(texts(['b', 5]), { deadline: later() });
    engine.finish(new Error('engine broke'));
    await assert.rejects(first, /engine broke/);
    await waitUntil(() => engine.running === 1);
    engine.finish();
    assert.deepEqual(await second, ['B']);
  });

  it('reports queue depth and each batch: size, padded tokens, padding ratio, queue waits, inference time', async () => {
    const engine = new FakeEngine();
    const { batcher, reports, depths } = batcherFor(engine, { maxPaddingRatio: 1 });
    const first = batcher.submit(texts(['a', 5]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    const second = batcher.submit(texts(['b', 10], ['c', 30]), { deadline: later() });
    engine.finish();
    await waitUntil(() => engine.running === 1);
    engine.finish();
    await Promise.all([first, second]);
    assert.deepEqual(depths, [1, 0, 2, 0]);
    assert.equal(reports.length, 2);
    const report = reports[1] as BatchReport;
    assert.equal(report.size, 2);
    assert.equal(report.paddedTokens, 60);
    assert.equal(report.realTokens, 40);
    assert.equal(report.paddingRatio, 20 / 60);
    assert.equal(report.queueWaitSeconds.length, 2);
    assert.ok(report.queueWaitSeconds.every((seconds) => seconds >= 0));
    assert.ok(report.inferenceSeconds >= 0);
  });
});

describe('Batcher across clients (fair order)', () => {
  it("serves a newcomer's text in the next batch, ahead of a flooding client's backlog", async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine, { maxBatchSize: 4, maxPaddingRatio: 1 });
    const blocker = batcher.submit(texts(['x', 5]), { deadline: later(), client: 'a' });
    await waitUntil(() => engine.running === 1);
    const flood = Array.from({ length: 4 }, (_, request) =>
      batcher.submit(texts(...Array.from({ length: 4 }, (_, i): [string, number] => [`a${request * 4 + i}`, 5])), {
        deadline: later(),
        client: 'a',
      }),
    );
    const newcomer = batcher.submit(texts(['b0', 5]), { deadline: later(), client: 'b' });
    engine.gated = false;
    engine.finish();
    assert.deepEqual(await newcomer, ['B0']);
    await Promise.all([blocker, ...flood]);
    assert.ok(engine.batches[1]?.includes('b0'), `b0 ran in the first batch after it came: ${engine.batches[1]}`);
  });

  it("keeps a light client's batch to light clients' texts, and fills a heavy client's from anyone", async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine, { maxBatchSize: 4, maxPaddingRatio: 1 });
    const blocker = batcher.submit(texts(['x', 5]), { deadline: later(), client: 'a' });
    await waitUntil(() => engine.running === 1);
    // a's texts are a token longer, so b0 and c0 come first in fair order and anchor the next batch.
    const flood = batcher.submit(texts(...Array.from({ length: 8 }, (_, i): [string, number] => [`a${i}`, 6])), {
      deadline: later(),
      client: 'a',
    });
    const light = ['b0', 'c0'].map((id) => batcher.submit(texts([id, 5]), { deadline: later(), client: id[0] }));
    engine.gated = false;
    engine.finish();
    await Promise.all([blocker, flood, ...light]);
    const lightBatch = engine.batches.find((batch) => batch.includes('b0'));
    assert.deepEqual(lightBatch, ['b0', 'c0'], `batches: ${JSON.stringify(engine.batches)}`);
    assert.ok(engine.batches.some((batch) => batch.length === 4 && batch.every((id) => id.startsWith('a'))));
  });

  it("keeps a heavy client's batches small while a light client is served, and full once it is alone", async () => {
    const engine = new FakeEngine();
    // 10-token texts: a full batch is 8 of them (80 tokens); a quarter of the budget holds 2.
    const { batcher } = batcherFor(engine, { maxBatchSize: 8, maxBatchTokens: 80, maxPaddingRatio: 1 });
    const heavyTexts = (prefix: string, count: number): FakeText[] =>
      texts(...Array.from({ length: count }, (_, i): [string, number] => [`${prefix}${i}`, 10]));
    // Alone: full batches.
    const blocker = batcher.submit(heavyTexts('x', 1), { deadline: later(), client: 'a' });
    await waitUntil(() => engine.running === 1);
    const alone = batcher.submit(heavyTexts('a', 16), { deadline: later(), client: 'a' });
    engine.finish();
    await waitUntil(() => engine.running === 1);
    assert.equal(engine.batches.at(-1)?.length, 8, `batches: ${JSON.stringify(engine.batches)}`);
    // A light client's text comes: it goes next, and a's batches after it shrink to a quarter of the budget.
    const light = batcher.submit(texts(['b0', 10]), { deadline: later(), client: 'b' });
    engine.finish();
    await waitUntil(() => engine.running === 1);
    assert.deepEqual(engine.batches.at(-1), ['b0']);
    engine.finish();
    await waitUntil(() => engine.running === 1);
    assert.equal(engine.batches.at(-1)?.length, 2, `batches: ${JSON.stringify(engine.batches)}`);
    engine.gated = false;
    engine.finish();
    await Promise.all([blocker, alone, light]);
  });

  it('gives two backlogged clients alternating shares of the engine, whatever their arrival order', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine, { maxBatchSize: 2, maxPaddingRatio: 1 });
    const blocker = batcher.submit(texts(['x', 5]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    const ids = (prefix: string) => Array.from({ length: 6 }, (_, i): [string, number] => [`${prefix}${i}`, 5]);
    const a = batcher.submit(texts(...ids('a')), { deadline: later(), client: 'a' });
    const b = batcher.submit(texts(...ids('b')), { deadline: later(), client: 'b' });
    engine.gated = false;
    engine.finish();
    await Promise.all([blocker, a, b]);
    // Equal lengths: each batch of two holds one text of each client.
    for (const batch of engine.batches.slice(1)) {
      assert.deepEqual(batch.map((id) => id[0]).sort(), ['a', 'b'], `batches: ${JSON.stringify(engine.batches)}`);
    }
  });

  it('serves one client in arrival order, and counts waiting texts per client', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine, { maxBatchSize: 1 });
    const first = batcher.submit(texts(['a0', 5]), { deadline: later(), client: 'a' });
    await waitUntil(() => engine.running === 1);
    const rest = ['a1', 'a2', 'a3'].map((id) => batcher.submit(texts([id, 5]), { deadline: later(), client: 'a' }));
    const other = batcher.submit(texts(['b0', 5], ['b1', 5]), { deadline: later(), client: 'b' });
    assert.equal(batcher.depthOf('a'), 3);
    assert.equal(batcher.depthOf('b'), 2);
    assert.equal(batcher.waitingClients, 2);
    engine.gated = false;
    engine.finish();
    await Promise.all([first, ...rest, other]);
    const aOrder = engine.batches.flat().filter((id) => id.startsWith('a'));
    assert.deepEqual(aOrder, ['a0', 'a1', 'a2', 'a3']);
    assert.equal(batcher.depthOf('a'), 0);
    assert.equal(batcher.waitingClients, 0);
  });
});

describe('Batcher with an engine of several instances', () => {
  it('runs up to maxConcurrentBatches batches at once, never more, each formed when an instance frees up', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine, { maxConcurrentBatches: 2 });
    const a = batcher.submit(texts(['a', 5]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    const b = batcher.submit(texts(['b', 5]), { deadline: later() });
    await waitUntil(() => engine.running === 2);
    const rest = ['c', 'd', 'e'].map((id) => batcher.submit(texts([id, 5]), { deadline: later() }));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(engine.running, 2, 'a third batch waits for a free instance');
    assert.equal(batcher.depth, 3);
    engine.finish();
    await waitUntil(() => engine.running === 2);
    assert.deepEqual(engine.batches, [['a'], ['b'], ['c', 'd', 'e']]);
    engine.finish();
    engine.finish();
    assert.deepEqual(await Promise.all([a, b, ...rest]), [['A'], ['B'], ['C'], ['D'], ['E']]);
  });

  it('starts the next batch before answering the one that finished', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine);
    const first = batcher.submit(texts(['a', 5]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    const second = batcher.submit(texts(['b', 5]), { deadline: later() });
    let runningWhenAnswered = -1;
    void first.then(() => (runningWhenAnswered = engine.running));
    engine.finish();
    assert.deepEqual(await first, ['A']);
    assert.equal(runningWhenAnswered, 1, 'b was already computing when a was answered');
    engine.finish();
    assert.deepEqual(await second, ['B']);
  });

  it('drain() waits for every running batch', async () => {
    const engine = new FakeEngine();
    // Two texts of very different lengths, kept apart by the padding limit: two batches.
    const { batcher } = batcherFor(engine, { maxConcurrentBatches: 2, maxPaddingRatio: 0.1 });
    const a = batcher.submit(texts(['a', 5]), { deadline: later() });
    const b = batcher.submit(texts(['b', 500]), { deadline: later() });
    await waitUntil(() => engine.running === 2);
    let drained = false;
    const draining = batcher.drain().then(() => (drained = true));
    engine.finish();
    await a;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(drained, false, 'one batch is still running');
    engine.finish();
    await Promise.all([b, draining]);
  });
});

describe('Batcher with a limit on long texts (longTexts)', () => {
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  /** Runs long L1, queues L2 (long) then s1, s2 (short) behind it, and returns the batches in the order they ran. */
  async function longThenMixed(
    options: Partial<BatcherOptions<FakeText, string>>,
    reports: BatchReport[] = [],
  ): Promise<string[][]> {
    const engine = new FakeEngine();
    const { batcher, reports: seen } = batcherFor(engine, { maxPaddingRatio: 0.1, ...options });
    const l1 = batcher.submit(texts(['L1', 500]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    const rest = [texts(['L2', 500]), texts(['s1', 10]), texts(['s2', 12])].map((submission) =>
      batcher.submit(submission, { deadline: later() }),
    );
    await sleep(20); // L1 takes engine time
    engine.gated = false;
    engine.finish();
    await Promise.all([l1, ...rest]);
    reports.push(...seen);
    return engine.batches;
  }

  it('runs waiting short texts before the oldest long one once long batches had their share', async () => {
    const reports: BatchReport[] = [];
    // L1's 20 ms on 32 threads is 0.64 CPU-seconds, past a quarter of one CPU's recent time.
    const longTexts = { longTextTokens: 128, longTextShare: 0.25, cpus: 1, threadsPerBatch: 32 };
    const batches = await longThenMixed({ longTexts }, reports);
    assert.deepEqual(batches, [['L1'], ['s1', 's2'], ['L2']]);
    // What metrics count: engine time by class, and the batch that went ahead.
    assert.deepEqual(
      reports.map((report) => [report.long, report.aheadOfLong]),
      [
        [true, false],
        [false, true],
        [true, false],
      ],
    );
  });

  it('keeps arrival order without the limit, or with a share of 1', async () => {
    assert.deepEqual(await longThenMixed({}), [['L1'], ['L2'], ['s1', 's2']]);
    const unlimited = { longTexts: { longTextTokens: 128, longTextShare: 1 } };
    assert.deepEqual(await longThenMixed(unlimited), [['L1'], ['L2'], ['s1', 's2']]);
  });

  it('keeps a second engine instance for short texts while one computes a long batch', async () => {
    const engine = new FakeEngine();
    const longTexts = { longTextTokens: 128, longTextShare: 0.25 };
    const { batcher } = batcherFor(engine, { maxConcurrentBatches: 2, maxPaddingRatio: 0.1, longTexts });
    void batcher.submit(texts(['L1', 500]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    // No batch has finished yet, so the time share alone would let L2 start beside L1.
    void batcher.submit(texts(['L2', 500]), { deadline: later() });
    void batcher.submit(texts(['s1', 10]), { deadline: later() });
    await waitUntil(() => engine.running === 2);
    assert.deepEqual(engine.batches, [['L1'], ['s1']]);
    assert.equal(batcher.depth, 1);
    engine.gated = false;
    engine.finish();
    engine.finish();
    await waitUntil(() => engine.batches.length === 3);
    assert.deepEqual(engine.batches[2], ['L2']);
  });

  it('runs a long text at once when no short one waits, whatever its share', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine, { longTexts: { longTextTokens: 128, longTextShare: 0 } });
    const first = batcher.submit(texts(['L1', 500]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    const second = batcher.submit(texts(['L2', 500]), { deadline: later() });
    await sleep(5);
    engine.gated = false;
    engine.finish();
    assert.deepEqual(await Promise.all([first, second]), [['L1'], ['L2']]);
    assert.deepEqual(engine.batches, [['L1'], ['L2']]);
  });

  it('holds long texts back while short traffic is served and long ones are past their share, then runs them', async () => {
    const engine = new FakeEngine();
    const longTexts = { longTextTokens: 128, longTextShare: 0.25, cpus: 1, threadsPerBatch: 32 };
    const { batcher } = batcherFor(engine, { longTexts });
    engine.gated = false;
    await batcher.submit(texts(['s1', 10]), { deadline: later() });
    engine.gated = true;
    const first = batcher.submit(texts(['L1', 500]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    await sleep(20);
    const second = batcher.submit(texts(['L2', 500]), { deadline: later() });
    engine.gated = false;
    engine.finish();
    await first;
    const finishedAt = performance.now();
    await sleep(50);
    assert.deepEqual(engine.batches, [['s1'], ['L1']], 'L2 waits: s1 ran lately and L1 took more than its share');
    assert.deepEqual(await second, ['L2']);
    assert.ok(performance.now() - finishedAt < 1500, 'runs within the half-life, once short traffic has stopped');
  });
});

describe('Batcher with a short lane (shortLaneTokens)', () => {
  const lane = { maxConcurrentBatches: 2, maxPaddingRatio: 0.1, shortLaneTokens: 64 };
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('keeps the last free instance out of long batches while the queue is short, and runs the long text after', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine, lane);
    // A short text lately: short traffic is arriving.
    const s0 = batcher.submit(texts(['s0', 10]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    engine.finish();
    await s0;
    const l1 = batcher.submit(texts(['L1', 200]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    const l2 = batcher.submit(texts(['L2', 200]), { deadline: later() });
    await settle();
    assert.equal(engine.running, 1, 'L2 would leave no instance for a short text');
    const s1 = batcher.submit(texts(['s1', 10]), { deadline: later() });
    await waitUntil(() => engine.running === 2);
    assert.deepEqual(engine.batches, [['s0'], ['L1'], ['s1']]);
    engine.finish();
    await waitUntil(() => engine.batches.length === 4);
    assert.deepEqual(engine.batches[3], ['L2'], 'L2 runs once L1 is done');
    engine.gated = false;
    engine.finish();
    engine.finish();
    assert.deepEqual(await Promise.all([l1, l2, s1]), [['L1'], ['L2'], ['S1']]);
  });

  it('stands aside when only long texts arrive: every instance takes long batches', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine, lane);
    const l1 = batcher.submit(texts(['L1', 200]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    const l2 = batcher.submit(texts(['L2', 200]), { deadline: later() });
    await waitUntil(() => engine.running === 2);
    assert.deepEqual(engine.batches, [['L1'], ['L2']]);
    engine.gated = false;
    engine.finish();
    engine.finish();
    assert.deepEqual(await Promise.all([l1, l2]), [['L1'], ['L2']]);
  });

  it('lets a long batch run beside a short one', async () => {
    const engine = new FakeEngine();
    const { batcher } = batcherFor(engine, lane);
    void batcher.submit(texts(['s1', 10]), { deadline: later() });
    await waitUntil(() => engine.running === 1);
    void batcher.submit(texts(['L1', 200]), { deadline: later() });
    await waitUntil(() => engine.running === 2);
    assert.deepEqual(engine.batches, [['s1'], ['L1']]);
    engine.gated = false;
    engine.finish();
    engine.finish();
  });

  it('stands aside with a backlog, and when off', async () => {
    for (const options of [
      { ...lane, maxBatchSize: 2 },
      { ...lane, shortLaneTokens: 0 },
    ]) {
      const engine = new FakeEngine();
      const { batcher } = batcherFor(engine, options);
      const first = batcher.submit(texts(['L1', 200]), { deadline: later() });
      await waitUntil(() => engine.running === 1);
      const rest = batcher.submit(texts(['L2', 200], ['L3', 200]), { deadline: later() });
      await waitUntil(() => engine.running === 2);
      assert.deepEqual(engine.batches[1], ['L2', 'L3']);
      engine.gated = false;
      engine.finish();
      engine.finish();
      assert.deepEqual(await Promise.all([first, rest]), [['L1'], ['L2', 'L3']]);
    }
  });
});
