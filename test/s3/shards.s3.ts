// Sharded scoring against a real S3-compatible server (npm run test:s3): every record scored exactly once for any
// shard count, the union of the parts equal, record by record, to a one-pod run of the same input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { runBatchJob, type BatchJobOptions } from '../../src/batch-job/batch-job.js';
import { PartsIncompleteError } from '../../src/batch-job/merge-check.js';
import { checkMerge } from '../../src/batch-job/object-job.js';
import { runShardJob } from '../../src/batch-job/shard-job.js';
import { batchJobInference } from '../../src/batch-job/job-inference.js';
import { Classifier } from '../../src/inference/classifier.js';
import type { Inference } from '../../src/inference/inference.js';
import type { Engine } from '../../src/engine/engine.js';
import { jobOptions, parseJsonl } from '../support/batch-job.js';
import { loadRealModel } from '../support/real-model.js';
import { testConfig } from '../support/config.js';
import { createBucket, getText, keysUnder, put, remove, testStore } from '../support/s3.js';
import { parseCsvRecord } from '../../src/batch-job/resume-point.js';
import { readCsv } from '../../src/batch-job/csv-reader.js';

const reviews = [
  'I loved it.',
  'Terrible, a waste of time.',
  'Pretty "good" overall.',
  'Not for me.',
  'Meh.\nBut fine',
];
const jsonl = (count: number, from = 0): string =>
  Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      id: from + i,
      text: `${reviews[(from + i) % reviews.length]} #${from + i}`,
      pad: 'p'.repeat((i * 7) % 90),
    }),
  ).join('\n') + '\n';
const csv = (count: number): string => {
  const quote = (s: string): string => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const rows = Array.from({ length: count }, (_, i) => `${i},${quote(`${reviews[i % reviews.length]}\n#${i}`)}`);
  return `id,text\n${rows.join('\n')}\n`;
};

let store: S3Client;
let engine: Engine;
/** The job's inference call, as sentiment-batch builds it, on the real model. */
let inference: Inference;
const scoredWith = { model: 'test-model', dtype: 'fp32' };
const io = (messages: string[] = []) => ({
  stdin: new PassThrough(),
  stdout: new PassThrough(),
  log: (l: string) => messages.push(l),
});

before(async () => {
  store = testStore();
  const loaded = await loadRealModel();
  engine = loaded.engine;
  const config = testConfig({ MAX_BATCH_SIZE: '64', MAX_QUEUE: '4096', MAX_TEXTS_PER_REQUEST: '1' });
  inference = batchJobInference(new Classifier(loaded.model, engine, config), config);
  await createBucket(store, 'shard-in');
  await createBucket(store, 'shard-out');
});
after(async () => {
  await inference?.classifier.close();
});

/** A one-pod run of the same objects (read from S3, written to stdout): the reference. */
async function onePod(options: Partial<BatchJobOptions>): Promise<string> {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const { readObjects } = await import('../../src/batch-job/object-ends.js');
  const job = jobOptions({ ...options, output: '-' });
  await runBatchJob(inference, job, { ...io(), stdout }, { input: await readObjects(store, job) });
  return text;
}

/** Runs every shard of COUNT in turn and returns the parts' text in shard order. */
async function runShards(input: string, output: string, count: number, extra: Partial<BatchJobOptions> = {}) {
  const parts: string[] = [];
  for (let index = 0; index < count; index++) {
    const options = { ...jobOptions({ input, output, ...extra }), shard: { index, count }, partBytes: 5 * 1024 * 1024 };
    const result = await runShardJob(store, inference, options, io(), scoredWith);
    assert.equal(result.alreadyDone, false);
    parts.push(await getText(store, 'shard-out', result.manifest.part));
  }
  return parts;
}

function assertSameRecords(actual: Record<string, unknown>[], expected: Record<string, unknown>[], what: string) {
  assert.equal(actual.length, expected.length, `${what}: record count`);
  actual.forEach((record, i) => {
    assert.deepEqual(record.id, expected[i]?.id, `${what}: record ${i}`);
    assert.equal(record.label, expected[i]?.label, `${what}: record ${i} label`);
    assert.ok(Math.abs(Number(record.score) - Number(expected[i]?.score)) < 1e-5, `${what}: record ${i} score`);
  });
}

describe('sharded jobs on object storage', () => {
  it('one object in 1, 2, 7 and 16 shards: the parts together are the one-pod output, record by record', async () => {
    await put(store, 'shard-in', 'one/reviews.jsonl', jsonl(400));
    const reference = parseJsonl(await onePod({ input: 's3://shard-in/one/reviews.jsonl' }));
    assert.equal(reference.length, 400);
    for (const count of [1, 2, 7, 16]) {
      const output = `s3://shard-out/one-${count}/`;
      const parts = await runShards('s3://shard-in/one/reviews.jsonl', output, count);
      assert.equal(parts.length, count);
      assertSameRecords(parseJsonl(parts.join('')), reference, `${count} shards`);
      const merged = await checkMerge(jobOptions({ input: 's3://shard-in/one/reviews.jsonl', output }));
      assert.deepEqual(merged, { shards: count, records: 400, malformed: 0, bytes: Buffer.byteLength(parts.join('')) });
    }
  });

  it('many objects under a prefix, fewer and more shards than objects', async () => {
    const sizes = [120, 3, 0, 77, 41];
    let from = 0;
    for (const [i, n] of sizes.entries()) {
      await put(store, 'shard-in', `many/day-${i}.jsonl`, n === 0 ? Buffer.alloc(0) : jsonl(n, from));
      from += n;
    }
    await put(store, 'shard-in', 'many/notes.txt', 'not a record file');
    const reference = parseJsonl(await onePod({ input: 's3://shard-in/many/' }));
    assert.equal(reference.length, from);
    for (const count of [3, 8]) {
      const output = `s3://shard-out/many-${count}/`;
      const parts = await runShards('s3://shard-in/many/', output, count);
      const union = parseJsonl(parts.join('')).sort((a, b) => Number(a.id) - Number(b.id));
      assertSameRecords(union, reference, `${count} shards`);
      const merged = await checkMerge(jobOptions({ input: 's3://shard-in/many/', output }));
      assert.equal(merged.records, from);
    }
  });

  it('CSV with newlines inside quoted fields, cut into 7 shards', async () => {
    await put(store, 'shard-in', 'csv/reviews.csv', csv(150));
    const options = { inputFormat: 'csv', outputFormat: 'csv' } as const;
    const rows = async (text: string): Promise<string[][]> => {
      const out: string[][] = [];
      for await (const row of readCsv([Buffer.from(text)], { delimiter: ',', maxRecordChars: 1 << 20 })) {
        if (row.kind === 'row') out.push(row.fields);
      }
      return out;
    };
    const reference = await rows(await onePod({ input: 's3://shard-in/csv/reviews.csv', ...options }));
    const parts = await runShards('s3://shard-in/csv/reviews.csv', 's3://shard-out/csv-7/', 7, options);
    const header = reference[0] ?? [];
    assert.deepEqual(header, ['id', 'text', 'label', 'score']);
    const union: string[][] = [];
    for (const part of parts) {
      const [partHeader, ...records] = await rows(part);
      assert.deepEqual(partHeader, header, 'every part has the header');
      union.push(...records);
    }
    assert.deepEqual(
      union.map((r) => r.slice(0, 3)),
      reference.slice(1).map((r) => r.slice(0, 3)),
    );
    assert.deepEqual(await parseCsvRecord(Buffer.from('a,"b\nc"\n'), ','), ['a', 'b\nc']);
  });

  it('a finished shard is not run again; --merge names a missing part', async () => {
    const options = { ...jobOptions({ input: 's3://shard-in/one/reviews.jsonl', output: 's3://shard-out/one-7/' }) };
    const again = await runShardJob(
      store,
      inference,
      { ...options, shard: { index: 3, count: 7 }, partBytes: 5 << 20 },
      io(),
      scoredWith,
    );
    assert.equal(again.alreadyDone, true);
    assert.equal(again.summary.scored, 0);
    await remove(store, 'shard-out', 'one-7/part-00003-of-00007.manifest.json');
    await assert.rejects(checkMerge(options), (error: unknown) => {
      assert.ok(error instanceof PartsIncompleteError);
      assert.match(error.message, /shard 3 of 7: no manifest/);
      assert.match(error.message, /bytes \d+-\d+ read by no shard/);
      return true;
    });
    assert.ok((await keysUnder(store, 'shard-out', 'one-7/')).every((key) => !key.endsWith('.checkpoint.json')));
  });
});
