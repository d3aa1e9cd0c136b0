import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { PassThrough, Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { BatchJobError, MalformedRecordError, runBatchJob } from '../../src/batch-job/batch-job.js';
import { csvField } from '../../src/batch-job/csv-format.js';
import { readCsv } from '../../src/batch-job/csv-reader.js';
import type { Engine } from '../../src/engine/engine.js';
import { batchJobInference } from '../../src/batch-job/job-inference.js';
import { Classifier } from '../../src/inference/classifier.js';
import type { Inference } from '../../src/inference/inference.js';
import type { Model } from '../../src/model/model.js';
import { jobOptions, parseJsonl, runJob, Scratch } from '../support/batch-job.js';
import { collect } from '../support/collect.js';
import { GatedEngine } from '../support/gated-engine.js';
import { InstantEngine } from '../support/instant-engine.js';
import { loadRealModel } from '../support/real-model.js';
import { waitUntil } from '../support/wait-until.js';

const reviews = [
  'A wonderful, moving film with brilliant performances.',
  'Dull, predictable and far too long.',
  'I loved every minute of it!',
  'The plot makes no sense and the acting is wooden.',
  'An instant classic.',
  'Not worth the price of the ticket.',
];

const batching = { maxBatchSize: 4, maxBatchTokens: 8192, maxPaddingRatio: 0.5, maxWaitMs: 0, maxQueue: 64 };
/** The limits sentiment-batch gives its inference call: one text per record, the queue as deep as the batching's. */
const jobLimits = { maxTextsPerRequest: 1, maxQueue: batching.maxQueue };

let model: Model;
let engine: Engine;
/** The job's inference call, as sentiment-batch builds it, on the real model. */
let inference: Inference;
const scratch = new Scratch();

before(async () => {
  ({ model, engine } = await loadRealModel());
  inference = batchJobInference(new Classifier(model, engine, batching), jobLimits);
});
after(async () => {
  await engine.dispose();
  scratch.remove();
});

/** What the server's classifier answers for each text alone. */
async function reference(texts: readonly string[]): Promise<{ label: string; score: number }[]> {
  const predictions = await inference.classifier.classify(texts, { truncate: true, topK: 1 });
  return predictions.map((best) => best[0] as { label: string; score: number });
}

function assertScoresMatch(
  records: Record<string, unknown>[],
  expected: { label: string; score: number }[],
  fields = { label: 'label', score: 'score' },
) {
  assert.equal(records.length, expected.length);
  records.forEach((record, i) => {
    assert.equal(record[fields.label], expected[i]?.label, `record ${i} label`);
    assert.ok(Math.abs(Number(record[fields.score]) - (expected[i]?.score ?? NaN)) < 1e-5, `record ${i} score`);
  });
}

/** Same records, scores compared with a tolerance (batches differ between runs, so float sums may too). */
function assertSameOutput(actual: Record<string, unknown>[], expected: Record<string, unknown>[]) {
  assert.equal(actual.length, expected.length, 'record count');
  actual.forEach((record, i) => {
    const { score, ...rest } = record;
    const { score: expectedScore, ...expectedRest } = expected[i] as Record<string, unknown>;
    assert.deepEqual(rest, expectedRest, `record ${i}`);
    assert.ok(Math.abs(Number(score) - Number(expectedScore)) < 1e-5, `record ${i} score`);
  });
}

async function csvRecords(text: string, delimiter = ','): Promise<Record<string, string>[]> {
  const rows = await collect(readCsv([Buffer.from(text)], { delimiter, maxRecordChars: 1_000_000 }));
  const [header, ...data] = rows.map((row) => (row.kind === 'row' ? row.fields : assert.fail(row.message)));
  return data.map((fields) => Object.fromEntries((header ?? []).map((name, i) => [name, fields[i] ?? ''])));
}

describe('batch job (real model)', () => {
  describe('formats and fields', () => {
    it('JSONL in, JSONL out: every record with its fields in order, then label and score as the server gives them', async () => {
      const input = reviews.map((text, id) => JSON.stringify({ id, text, meta: { source: 'test' } })).join('\n');
      const { summary, stdout } = await runJob(inference, {}, input);
      const records = parseJsonl(stdout);
      assert.deepEqual(Object.keys(records[0] ?? {}), ['id', 'text', 'meta', 'label', 'score']);
      assert.deepEqual(
        records.map((r) => r.id),
        [0, 1, 2, 3, 4, 5],
      );
      assert.deepEqual(records[0]?.meta, { source: 'test' });
      assertScoresMatch(records, await reference(reviews));
      assert.equal(summary.scored, 6);
      assert.equal(summary.malformed, 0);
    });

    it('CSV in, CSV out: quoted fields with commas, quotes and newlines survive; the text comes from the named column', async () => {
      const texts = ['Great, "really" great.', 'Bad.\nVery bad, even.', 'Fine'];
      const input = `review,stars\n${texts.map((t, i) => `"${t.replaceAll('"', '""')}",${i + 1}`).join('\r\n')}\n`;
      const { stdout } = await runJob(
        inference,
        {
          inputFormat: 'csv',
          outputFormat: 'csv',
          fields: { text: 'review', label: 'sentiment', score: 'confidence' },
        },
        input,
      );
      assert.ok(stdout.startsWith('review,stars,sentiment,confidence\n'));
      const records = await csvRecords(stdout);
      assert.deepEqual(
        records.map((r) => [r.review, r.stars]),
        texts.map((t, i) => [t, String(i + 1)]),
      );
      assertScoresMatch(records, await reference(texts), { label: 'sentiment', score: 'confidence' });
    });

    it('TSV (CRLF, SST-2 style) in, JSONL out', async () => {
      const input = `label\tsentence\r\n${reviews.map((t, i) => `${i % 2}\t${t}`).join('\r\n')}\r\n`;
      const { stdout } = await runJob(
        inference,
        { inputFormat: 'tsv', fields: { text: 'sentence', label: 'predicted', score: 'score' } },
        input,
      );
      const records = parseJsonl(stdout);
      assert.deepEqual(records[1], {
        label: '1',
        sentence: reviews[1],
        predicted: records[1]?.predicted,
        score: records[1]?.score,
      });
      assertScoresMatch(records, await reference(reviews), { label: 'predicted', score: 'score' });
    });

    it('JSONL in, CSV and TSV out: columns from the first record, nested values as JSON', async () => {
      const input = reviews
        .slice(0, 2)
        .map((text, id) => JSON.stringify({ id, text, tags: ['a', 'b'] }))
        .join('\n');
      const csv = (await runJob(inference, { outputFormat: 'csv' }, input)).stdout;
      const records = await csvRecords(csv);
      assert.deepEqual(Object.keys(records[0] ?? {}), ['id', 'text', 'tags', 'label', 'score']);
      assert.equal(records[1]?.tags, '["a","b"]');
      assertScoresMatch(records, await reference(reviews.slice(0, 2)));
      const tsv = (await runJob(inference, { outputFormat: 'tsv' }, input)).stdout;
      assert.deepEqual(
        await csvRecords(tsv, '\t'),
        records.map((r) => ({ ...r, score: r.score })),
      );
    });

    it('reads and writes files', async () => {
      const input = scratch.file('in.csv', `text\n${reviews.map((text) => csvField(text, ',')).join('\n')}\n`);
      const output = scratch.file('out.jsonl');
      const summary = await runBatchJob(inference, jobOptions({ input, output, inputFormat: 'csv' }), {
        stdin: process.stdin,
        stdout: process.stdout,
        log: () => undefined,
      });
      assert.equal(summary.scored, reviews.length);
      assertScoresMatch(parseJsonl(scratch.read(output)), await reference(reviews));
    });
  });

  describe('malformed records', () => {
    const input = [
      '{"text":"good"}',
      '{"text":"fine"}',
      '{"text": broken',
      '{"text":"great"}',
      '{"body":"no text"}',
      '{"text":"bad"}',
    ].join('\n');

    it('--on-error fail (default) stops at the first, with its line number, after writing every record before it', async () => {
      const output = scratch.file('fail.jsonl');
      await assert.rejects(
        runBatchJob(inference, jobOptions({ output }), {
          stdin: streamOf(input),
          stdout: process.stdout,
          log: () => undefined,
        }),
        (error: unknown) => {
          assert.ok(error instanceof MalformedRecordError);
          assert.equal(error.line, 3);
          assert.match(error.message, /^line 3: not valid JSON/);
          assert.equal(error.summary?.scored, 2);
          assert.equal(error.summary?.malformed, 1);
          return true;
        },
      );
      assert.deepEqual(
        parseJsonl(scratch.read(output)).map((r) => r.text),
        ['good', 'fine'],
      );
    });

    it('--on-error skip reports each with its line number, counts it, and leaves it out', async () => {
      const { summary, stdout, messages } = await runJob(inference, { onError: 'skip' }, input);
      assert.deepEqual(
        parseJsonl(stdout).map((r) => r.text),
        ['good', 'fine', 'great', 'bad'],
      );
      assert.equal(summary.malformed, 2);
      assert.equal(summary.scored, 4);
      assert.equal(messages.length, 2);
      assert.match(messages[0] ?? '', /^line 3: not valid JSON .* \(skipped\)$/);
      assert.match(messages[1] ?? '', /^line 5: has no field "text" .* \(skipped\)$/);
    });

    it('CSV: a record with the wrong number of fields, in both modes', async () => {
      const csv = 'id,text\n1,good\n2,too,many\n3,"multi\nline"\n4,bad\n';
      await assert.rejects(runJob(inference, { inputFormat: 'csv' }, csv), /line 3: has 3 fields, the header has 2/);
      const { stdout, messages } = await runJob(inference, { inputFormat: 'csv', onError: 'skip' }, csv);
      assert.deepEqual(
        parseJsonl(stdout).map((r) => r.id),
        ['1', '3', '4'],
      );
      assert.deepEqual(messages, ['line 3: has 3 fields, the header has 2 (skipped)']);
    });

    it('a header without the text column stops the job before anything is scored', async () => {
      await assert.rejects(runJob(inference, { inputFormat: 'csv' }, 'body\nx\n'), (error: unknown) => {
        assert.ok(error instanceof BatchJobError);
        assert.match(error.message, /no column "text"/);
        return true;
      });
    });
  });

  it('writes records in input order although batches group texts by length out of order', async () => {
    // Record i repeats a word a distinct number of times, so each batch's token counts say which records it held.
    const repeats = Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? 1 + i : 60 - i));
    const texts = repeats.map((n) => Array.from({ length: n }, () => 'good').join(' '));
    const indexOfLength = new Map(texts.map((text, i) => [model.tokenizer.encode(text, i, true).ids.length, i]));
    assert.equal(indexOfLength.size, texts.length, 'distinct lengths');
    const gated = new GatedEngine(engine);
    const grouping = new Classifier(model, gated, batching);
    gated.close();
    const run = runJob(
      batchJobInference(grouping, jobLimits),
      { window: 64 },
      texts.map((text, id) => JSON.stringify({ id, text })).join('\n'),
    );
    // Hold the first batch until every other text waits in the queue, so the next batches are chosen from all.
    await waitUntil(
      () => gated.waitingBatches === 1 && grouping.batcher.depth === texts.length - (gated.batchSizes[0] ?? 0),
    );
    gated.release();
    const { stdout } = await run;
    assert.deepEqual(
      parseJsonl(stdout).map((r) => r.id),
      texts.map((_, id) => id),
    );
    const engineOrder = gated.batches.flat().map((text) => indexOfLength.get(text.ids.length));
    assert.notDeepEqual(
      engineOrder,
      [...engineOrder].sort((a, b) => (a ?? 0) - (b ?? 0)),
      'the engine saw them out of order',
    );
    assertScoresMatch(parseJsonl(stdout), await reference(texts));
  });

  describe('resume', () => {
    const many = Array.from({ length: 40 }, (_, i) => `${reviews[i % reviews.length]} (${i})`);

    async function fullRun(format: 'jsonl' | 'csv'): Promise<{ input: string; expected: string }> {
      const input =
        format === 'jsonl'
          ? scratch.file('in.jsonl', many.map((text, id) => JSON.stringify({ id, text })).join('\n') + '\n')
          : scratch.file(
              'in.csv',
              `id,text\n${many.map((t, id) => `${id},"${id % 5 === 0 ? `${t}\nsecond line` : t}"`).join('\n')}\n`,
            );
      const output = scratch.file(`expected.${format}`);
      await runBatchJob(inference, jobOptions({ input, output, inputFormat: format, outputFormat: format }), {
        stdin: process.stdin,
        stdout: process.stdout,
        log: () => undefined,
      });
      return { input, expected: scratch.read(output) };
    }

    async function resumeFrom(input: string, format: 'jsonl' | 'csv', partialOutput: Buffer) {
      const output = scratch.file(`resumed.${format}`);
      writeFileSync(output, partialOutput);
      const messages: string[] = [];
      const summary = await runBatchJob(
        inference,
        jobOptions({ input, output, inputFormat: format, outputFormat: format, resume: true }),
        {
          stdin: process.stdin,
          stdout: process.stdout,
          log: (line) => messages.push(line),
        },
      );
      return { summary, messages, output: scratch.read(output) };
    }

    it('JSONL: after a crash that left a partial last line, continues after the last complete record', async () => {
      const { input, expected } = await fullRun('jsonl');
      const bytes = Buffer.from(expected);
      const lineEnds = [...expected.matchAll(/\n/g)].map((m) =>
        Buffer.byteLength(expected.slice(0, (m.index ?? 0) + 1)),
      );
      for (const [cut, done] of [
        [(lineEnds[16] ?? 0) + 25, 17],
        [lineEnds[9] ?? 0, 10],
        [7, 0],
        [0, 0],
        [bytes.length, 40],
      ] as const) {
        const { summary, messages, output } = await resumeFrom(input, 'jsonl', bytes.subarray(0, cut));
        assertSameOutput(parseJsonl(output), parseJsonl(expected));
        assert.equal(summary.resumed, done, `cut at ${cut}`);
        assert.equal(summary.scored, 40 - done);
        assert.equal(
          messages.length,
          cut === lineEnds[done - 1] || cut === 0 ? 0 : 1,
          `cut at ${cut}: ${messages.join()}`,
        );
      }
    });

    it('CSV: a crash inside a quoted multi-line field, and one inside the header', async () => {
      const { input, expected } = await fullRun('csv');
      const expectedRecords = await csvRecords(expected);
      // Record 10 (id 10) holds a newline inside quotes: cut just after that newline.
      const cut = Buffer.byteLength(expected.slice(0, expected.indexOf('(10)\nsecond line') + 5));
      const resumed = await resumeFrom(input, 'csv', Buffer.from(expected).subarray(0, cut));
      assert.equal(resumed.summary.resumed, 10);
      assertSameOutput(await csvRecords(resumed.output), expectedRecords);
      const header = await resumeFrom(input, 'csv', Buffer.from('id,te'));
      assert.equal(header.summary.resumed, 0);
      assertSameOutput(await csvRecords(header.output), expectedRecords);
    });

    it('refuses to resume an output made from another input, or with more records than the input', async () => {
      const { input, expected } = await fullRun('jsonl');
      const other = scratch.file(
        'other.jsonl',
        many.map((text, id) => JSON.stringify({ id, text: `${text}!` })).join('\n'),
      );
      await assert.rejects(
        resumeFrom(other, 'jsonl', Buffer.from(expected).subarray(0, 300)),
        /is not input record .*Not resuming/,
      );
      const shorter = scratch.file('short.jsonl', readFileSync(input, 'utf8').split('\n').slice(0, 5).join('\n'));
      await assert.rejects(
        resumeFrom(shorter, 'jsonl', Buffer.from(expected)),
        /already has 40 records but the input has only 5/,
      );
    });

    it('creates the output directory when it does not exist (a fresh volume), and says why it cannot write', async () => {
      const input = scratch.file('in.jsonl', '{"text":"good"}\n');
      const output = `${scratch.dir}/new/dir/out.jsonl`;
      const io = { stdin: process.stdin, stdout: process.stdout, log: () => undefined };
      await runBatchJob(inference, jobOptions({ input, output }), io);
      assert.equal(parseJsonl(scratch.read(output))[0]?.label !== undefined, true);
      const blocked = `${input}/out.jsonl`;
      await assert.rejects(runBatchJob(inference, jobOptions({ input, output: blocked }), io), (error: unknown) => {
        assert.ok(error instanceof BatchJobError);
        assert.match(error.message, /^cannot write .*\/out\.jsonl: /);
        return true;
      });
    });

    it('an existing output is kept unless --resume or --overwrite says what to do with it', async () => {
      const input = scratch.file('in.jsonl', '{"text":"good"}\n');
      const output = scratch.file('exists.jsonl', 'precious\n');
      const io = { stdin: process.stdin, stdout: process.stdout, log: () => undefined };
      await assert.rejects(
        runBatchJob(inference, jobOptions({ input, output }), io),
        /exists: add --resume .* or --overwrite/,
      );
      assert.equal(scratch.read(output), 'precious\n');
      await runBatchJob(inference, jobOptions({ input, output, overwrite: true }), io);
      assert.equal(parseJsonl(scratch.read(output))[0]?.text, 'good');
      await assert.rejects(
        runBatchJob(inference, jobOptions({ input, output: input, overwrite: true }), io),
        /the output is the input/,
      );
    });

    it('stopped by a signal, writes what it read, and a resumed run completes the output', async () => {
      const { input, expected } = await fullRun('jsonl');
      const gated = new GatedEngine(engine);
      const stoppable = new Classifier(model, gated, batching);
      gated.close();
      const output = scratch.file('interrupted.jsonl');
      const stop = new AbortController();
      const run = runBatchJob(batchJobInference(stoppable, jobLimits), jobOptions({ input, output, window: 8 }), {
        stdin: process.stdin,
        stdout: process.stdout,
        log: () => undefined,
        signal: stop.signal,
      });
      await waitUntil(() => gated.waitingBatches === 1);
      stop.abort();
      gated.release();
      const summary = await run;
      assert.equal(summary.interrupted, true);
      assert.ok(summary.scored > 0 && summary.scored < 40, `scored ${summary.scored}`);
      const partial = parseJsonl(scratch.read(output));
      assert.equal(partial.length, summary.scored);
      const resumed = await resumeFrom(input, 'jsonl', readFileSync(output));
      assert.equal(resumed.summary.resumed, summary.scored);
      assertSameOutput(parseJsonl(resumed.output), parseJsonl(expected));
    });
  });

  it('a stalled output stops the reading (back-pressure); once it drains the job completes', async () => {
    const total = 5000;
    let pulled = 0;
    const input = Readable.from(
      (function* () {
        for (let id = 0; id < total; id++) {
          pulled += 1;
          yield Buffer.from(`${JSON.stringify({ id, text: reviews[id % reviews.length] })}\n`);
        }
      })(),
    );
    let held: (() => void)[] = [];
    let flowing = false;
    let written = '';
    const output = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, done) {
        written += chunk.toString();
        if (flowing) done();
        else held.push(done);
      },
    });
    // The instant engine: were reading not held back, all of the input would be read within the wait below.
    const fast = new Classifier(model, new InstantEngine(), batching);
    const run = runBatchJob(batchJobInference(fast, jobLimits), jobOptions({ window: 16 }), {
      stdin: input,
      stdout: output,
      log: () => undefined,
    });
    await waitUntil(() => held.length > 0);
    // However long the output stays blocked, reading stays within the window (plus small stream buffers).
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(pulled < 200, `read ${pulled} of ${total} records while the output was blocked`);
    flowing = true;
    for (const done of held) done();
    held = [];
    const summary = await run;
    assert.equal(summary.scored, total);
    assert.deepEqual(
      parseJsonl(written).map((r) => r.id),
      Array.from({ length: total }, (_, id) => id),
    );
  });

  it('an output that fails (a closed pipe) stops the job with the reason', async () => {
    const output = new Writable({
      write(_chunk, _encoding, done) {
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const input = new PassThrough();
    input.end(reviews.map((text) => JSON.stringify({ text })).join('\n'));
    await assert.rejects(
      runBatchJob(inference, jobOptions({}), { stdin: input, stdout: output, log: () => undefined }),
      (error: unknown) => {
        assert.ok(error instanceof BatchJobError);
        assert.equal(
          error.message,
          'writing standard output failed: write EPIPE (the reading end of the pipe was closed)',
        );
        return true;
      },
    );
  });

  it('an engine failure stops the job with the line of the record it was scoring; what was written stays', async () => {
    let calls = 0;
    const failing = new Classifier(
      model,
      {
        ...engine,
        kind: engine.kind,
        device: engine.device,
        backend: engine.backend,
        numLabels: engine.numLabels,
        run: (batch) => (++calls > 1 ? Promise.reject(new Error('device lost')) : engine.run(batch)),
        dispose: async () => undefined,
      },
      { ...batching, maxBatchSize: 1 },
    );
    await assert.rejects(
      runJob(
        batchJobInference(failing, jobLimits),
        { window: 1 },
        reviews.map((text) => JSON.stringify({ text })).join('\n'),
      ),
      (error: unknown) => {
        assert.ok(error instanceof BatchJobError);
        assert.match(error.message, /scoring the record on line 2 failed: device lost/);
        assert.equal(error.summary?.scored, 1);
        return true;
      },
    );
  });
});

function streamOf(text: string): Readable {
  return Readable.from([Buffer.from(text)]);
}
