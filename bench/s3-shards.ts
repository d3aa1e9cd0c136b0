// npm run bench:s3 (scripts/test-s3.sh starts the local S3 server): the object-storage targets of issue 25,
// measured with the built CLI, one process at a time.
//   1. a JSONL object of --mb MB (default 200): review sentences (bench/data/sentences.txt) with a metadata field
//   2. the one-pod run on the local file: texts/s, peak RSS
//   3. one shard (--shard 0/1) from S3 to S3: texts/s against the local run
//   4. --shards N (default 16) shards, one after another: peak RSS of each against the local run; --merge; the
//      union of the parts compared record by record (id, label, score) with the local output
//   5. one shard killed with SIGKILL halfway and run again: part complete, no duplicates, records scored twice
// Numbers go to docs/BATCH.md by hand, with the machine's load at the time.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { createObjectStoreClient } from '../src/batch-job/object-store.js';
import { partName } from '../src/batch-job/shard-plan.js';
import { packageRoot } from '../src/config/package-root.js';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '200' },
    shards: { type: 'string', default: '16' },
    'record-bytes': { type: 'string', default: '2048' },
  },
});
const targetBytes = Number(values.mb) * 1e6;
const shardCount = Number(values.shards);
const recordBytes = Number(values['record-bytes']);
const store = createObjectStoreClient(process.env);
const dir = mkdtempSync(join(tmpdir(), 'bench-s3-'));
const cli = join(packageRoot, 'dist/src/cli/batch.js');

interface Run {
  code: number | null;
  stderr: string;
  textsPerSecond: number;
  peakRssMiB: number;
  wallSeconds: number;
}

/** Runs the CLI; the summary line gives texts/s and peak RSS. `onStart` may kill it. */
async function runCli(args: string[], onStart?: (child: ChildProcess) => Promise<void>): Promise<Run> {
  const child = spawn(process.execPath, [cli, ...args, '--progress', 'none'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = onStart?.(child);
  const [code] = (await once(child, 'close')) as [number | null];
  await killer;
  const summary = /([\d,.]+) texts\/s .*wall ([\d.]+) s; peak RSS (\d+) MiB/.exec(stderr);
  return {
    code,
    stderr,
    textsPerSecond: Number((summary?.[1] ?? '0').replaceAll(',', '')),
    wallSeconds: Number(summary?.[2] ?? 0),
    peakRssMiB: Number(summary?.[3] ?? 0),
  };
}

function must(run: Run, what: string): Run {
  if (run.code !== 0) throw new Error(`${what} failed (${run.code}):\n${run.stderr}`);
  return run;
}

async function writeInput(path: string): Promise<number> {
  const sentences = readFileSync(join(packageRoot, 'bench/data/sentences.txt'), 'utf8').split('\n').filter(Boolean);
  const out = createWriteStream(path);
  let bytes = 0;
  let id = 0;
  while (bytes < targetBytes) {
    const text = sentences[id % sentences.length] as string;
    const base = JSON.stringify({ id, text, meta: '' });
    const line = `${JSON.stringify({ id, text, meta: 'm'.repeat(Math.max(0, recordBytes - base.length - 1)) })}\n`;
    if (!out.write(line)) await once(out, 'drain');
    bytes += Buffer.byteLength(line);
    id += 1;
  }
  out.end();
  await once(out, 'finish');
  return id;
}

async function* lines(stream: Readable): AsyncGenerator<string> {
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) if (line !== '') yield line;
}

async function* partsInOrder(bucket: string, prefix: string, count: number): AsyncGenerator<string> {
  for (let index = 0; index < count; index++) {
    const key = `${prefix}${partName({ index, count })}.jsonl`;
    const response = await store.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    yield* lines(response.Body as Readable);
  }
}

/** The union of the parts against the local output, record by record. */
async function compare(
  localOut: string,
  parts: AsyncGenerator<string>,
): Promise<{ records: number; maxScoreDiff: number }> {
  const local = lines(createReadStream(localOut));
  let records = 0;
  let maxScoreDiff = 0;
  for (;;) {
    const [a, b] = await Promise.all([local.next(), parts.next()]);
    if (a.done || b.done) {
      if (a.done !== b.done) throw new Error(`record ${records}: one output ends before the other`);
      return { records, maxScoreDiff };
    }
    const x = JSON.parse(a.value) as { id: number; label: string; score: number };
    const y = JSON.parse(b.value) as { id: number; label: string; score: number };
    if (x.id !== y.id || x.label !== y.label)
      throw new Error(`record ${records}: ${a.value.slice(0, 80)} vs ${b.value.slice(0, 80)}`);
    maxScoreDiff = Math.max(maxScoreDiff, Math.abs(x.score - y.score));
    records += 1;
  }
}

async function checkpointRecords(bucket: string, key: string): Promise<number> {
  try {
    const response = await store.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const checkpoint = JSON.parse((await response.Body?.transformToString()) ?? '') as { parts: { records: number }[] };
    return checkpoint.parts.at(-1)?.records ?? 0;
  } catch {
    return 0;
  }
}

const say = (line: string): void => console.log(line);
try {
  say(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; MODEL_DIR=${process.env.MODEL_DIR ?? '(default)'}`,
  );
  const input = join(dir, 'input.jsonl');
  const records = await writeInput(input);
  for (const bucket of ['bench-in', 'bench-out']) await store.send(new CreateBucketCommand({ Bucket: bucket }));
  await new Upload({
    client: store,
    params: { Bucket: 'bench-in', Key: 'input.jsonl', Body: createReadStream(input) },
  }).done();
  say(`input: ${records} records, ${(targetBytes / 1e6).toFixed(0)} MB, local file and s3://bench-in/input.jsonl`);

  const localOut = join(dir, 'out.jsonl');
  const local = must(await runCli([input, '-o', localOut, '--overwrite']), 'the local run');
  say(
    `local file -> local file: ${local.textsPerSecond} texts/s, peak RSS ${local.peakRssMiB} MiB, wall ${local.wallSeconds} s`,
  );

  const one = must(
    await runCli(['s3://bench-in/input.jsonl', '-o', 's3://bench-out/one/', '--shard', '0/1']),
    'one shard',
  );
  say(
    `S3 -> S3, one shard: ${one.textsPerSecond} texts/s (${((one.textsPerSecond / local.textsPerSecond) * 100).toFixed(1)} % of local), ` +
      `peak RSS ${one.peakRssMiB} MiB, wall ${one.wallSeconds} s`,
  );

  const rss: number[] = [];
  for (let index = 0; index < shardCount; index++) {
    const shard = must(
      await runCli(['s3://bench-in/input.jsonl', '-o', 's3://bench-out/sharded/', '--shard', `${index}/${shardCount}`]),
      `shard ${index}`,
    );
    rss.push(shard.peakRssMiB);
  }
  const merge = must(await runCli(['--merge', 's3://bench-in/input.jsonl', '-o', 's3://bench-out/sharded/']), 'merge');
  say(
    `${shardCount} shards: peak RSS per shard ${Math.min(...rss)}-${Math.max(...rss)} MiB (max ${(Math.max(...rss) / local.peakRssMiB).toFixed(2)}x local)`,
  );
  say(`merge: ${/all .*/.exec(merge.stderr)?.[0] ?? merge.stderr}`);
  const same = await compare(localOut, partsInOrder('bench-out', 'sharded/', shardCount));
  say(
    `union of the parts = local output: ${same.records} records, same ids and labels, max score difference ${same.maxScoreDiff.toExponential(2)}`,
  );

  const checkpoint = `killed/${partName({ index: 0, count: 1 })}.checkpoint.json`;
  const args = ['s3://bench-in/input.jsonl', '-o', 's3://bench-out/killed/', '--shard', '0/1'];
  let committed = 0;
  const killed = await runCli(args, async (child) => {
    // An input of less than two parts finishes before any part is committed: then there is nothing to kill.
    while (child.exitCode === null) {
      committed = await checkpointRecords('bench-out', checkpoint);
      if (committed >= records / 2) {
        child.kill('SIGKILL');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
  const again = must(await runCli(args), 'the restarted shard');
  const scoredAgain = /done: ([\d,]+) records scored/.exec(again.stderr)?.[1] ?? '?';
  const rescored = await compare(localOut, partsInOrder('bench-out', 'killed/', 1));
  say(
    `SIGKILL at ${committed} records committed (exit ${killed.code}); restart scored ${scoredAgain} more; part = local output ` +
      `(${rescored.records} records, no duplicates); re-scored: what the first run had scored past the last committed part (< one part)`,
  );
  say(
    `load average at end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
