// The command against a real S3-compatible server (npm run test:s3): a shard killed with SIGKILL and run again
// completes its part exactly, and the errors a pod can meet exit with the codes the pod failure policy reads.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { exitCodes } from '../../src/batch-job/batch-job.js';
import { finish, runCli, spawnCli } from '../support/batch-cli.js';
import { parseJsonl } from '../support/batch-job.js';
import { createBucket, getText, put, storeEnv, testStore } from '../support/s3.js';

let store: S3Client;
const texts = ['Great value, would buy again.', 'Broke after a day.', 'It is okay.'];
/** Records of about 5 KB (a review and the metadata that comes with it), so a few thousand fill several parts. */
const bigRecords = (count: number): string =>
  Array.from({ length: count }, (_, i) =>
    JSON.stringify({ id: i, text: `${texts[i % texts.length]} #${i}`, meta: 'm'.repeat(5000) }),
  ).join('\n') + '\n';

before(async () => {
  store = testStore();
  await createBucket(store, 'cli-in');
  await createBucket(store, 'cli-out');
});

async function checkpointParts(key: string): Promise<number> {
  try {
    return (JSON.parse(await getText(store, 'cli-out', key)) as { parts: unknown[] }).parts.length;
  } catch {
    return 0;
  }
}

describe('sentiment-batch on object storage (the built command)', () => {
  it('a shard killed with SIGKILL and started again completes its part: every record once, in order', async () => {
    const count = 6000;
    await put(store, 'cli-in', 'big.jsonl', bigRecords(count));
    const args = ['s3://cli-in/big.jsonl', '-o', 's3://cli-out/big/', '--part-mib', '5', '--progress', 'none'];
    const env = { ...storeEnv(), JOB_COMPLETION_INDEX: '1', SHARD_COUNT: '2' };
    const checkpoint = 'big/part-00001-of-00002.checkpoint.json';
    const first = spawnCli(args, env);
    const firstDone = finish(first);
    // Killed once its first part is committed, while it fills the next (the shard has ~3 parts).
    while ((await checkpointParts(checkpoint)) < 1) {
      assert.equal(first.exitCode, null, 'the first run ended before committing a part');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    first.kill('SIGKILL');
    assert.equal((await firstDone).signal, 'SIGKILL');
    const committed = JSON.parse(await getText(store, 'cli-out', checkpoint)) as { parts: { records: number }[] };
    assert.equal(committed.parts.length, 1, 'killed while the second part was being filled');
    const kept = committed.parts[0]?.records ?? 0;

    const second = await runCli(args, '', env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(
      second.stderr,
      new RegExp(
        `resume: 1 part\\(s\\) of s3://cli-out/big/part-00001-of-00002.jsonl already uploaded \\(${kept} records\\)`,
      ),
    );
    assert.match(
      second.stderr,
      new RegExp(`records scored, ${kept.toLocaleString('en-US')} already done \\(resumed\\)`),
    );
    const manifest = JSON.parse(await getText(store, 'cli-out', 'big/part-00001-of-00002.manifest.json')) as {
      records: number;
      input: { start: number; end: number }[];
    };
    const records = parseJsonl(await getText(store, 'cli-out', 'big/part-00001-of-00002.jsonl'));
    assert.equal(records.length, manifest.records);
    const ids = records.map((r) => Number(r.id));
    const firstId = ids[0] ?? -1;
    assert.ok(firstId > 0 && firstId < count, 'shard 1 of 2 starts mid-object');
    assert.deepEqual(
      ids,
      Array.from({ length: count - firstId }, (_, i) => firstId + i),
      'no gap, no duplicate',
    );
    assert.ok(records.every((r) => r.label === 'POSITIVE' || r.label === 'NEGATIVE'));

    // Shard 0, then the check that the two parts cover the object.
    const zero = await runCli(args, '', { ...env, JOB_COMPLETION_INDEX: '0' });
    assert.equal(zero.code, 0, zero.stderr);
    const merged = await runCli(['--merge', 's3://cli-in/big.jsonl', '-o', 's3://cli-out/big/'], '', storeEnv());
    assert.equal(merged.code, 0, merged.stderr);
    assert.match(merged.stderr, /all 2 parts are there and cover the input exactly: 6,000 records/);
  });

  it('one object in, one object out, streamed both ways; and to stdout', async () => {
    await put(
      store,
      'cli-in',
      'small.jsonl',
      `${JSON.stringify({ text: 'Wonderful!' })}\n${JSON.stringify({ text: 'Awful.' })}\n`,
    );
    const result = await runCli(['s3://cli-in/small.jsonl', '-o', 's3://cli-out/small.scored.jsonl'], '', storeEnv());
    assert.equal(result.code, 0, result.stderr);
    const stdout = await runCli(['s3://cli-in/small.jsonl'], '', storeEnv());
    assert.equal(await getText(store, 'cli-out', 'small.scored.jsonl'), stdout.stdout);
    assert.deepEqual(
      parseJsonl(stdout.stdout).map((r) => r.label),
      ['POSITIVE', 'NEGATIVE'],
    );
  });

  it('no such bucket, denied access and a truncated object: clear messages, exit 3 (retrying cannot help)', async () => {
    await put(store, 'cli-in', 'cut.jsonl', '{"text":"fine"}\n{"text":"also fine"}\n{"text":"cut sh');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [
        ['s3://no-such-bucket-25/x.jsonl', '-o', 's3://cli-out/x/', '--shard', '0/2'],
        {},
        /the bucket does not exist \(NoSuchBucket, HTTP 404\)/,
      ],
      [
        ['s3://cli-in/big.jsonl', '-o', 's3://cli-out/denied/', '--shard', '0/2'],
        { AWS_SECRET_ACCESS_KEY: 'wrong' },
        /(the secret key does not match the access key|access denied, or the credentials were not accepted).*HTTP 403/,
      ],
      [
        ['s3://cli-in/big.jsonl', '-o', 's3://cli-out/denied/', '--shard', '0/2'],
        { AWS_ACCESS_KEY_ID: 'nobody' },
        /the access key is not known to the store .*HTTP 40[34]/,
      ],
      [
        ['s3://cli-in/cut.jsonl', '-o', 's3://cli-out/cut/', '--shard', '0/1', '--on-error', 'skip'],
        {},
        /s3:\/\/cli-in\/cut.jsonl ends in the middle of a record \(line 3: not valid JSON.*the object looks truncated/,
      ],
    ];
    for (const [args, env, message] of cases) {
      const result = await runCli([...args, '--progress', 'none'], '', { ...storeEnv(), ...env });
      assert.equal(result.code, exitCodes.unusableData, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });

  it('bad usage of shards and object outputs exits 2', async () => {
    for (const [args, env, message] of [
      [['local.jsonl', '-o', 's3://cli-out/p/', '--shard', '0/2'], {}, /INPUT must be s3:/],
      [
        ['s3://cli-in/big.jsonl', '-o', 's3://cli-out/p.jsonl', '--shard', '0/2'],
        {},
        /must be s3:\/\/bucket\/prefix\//,
      ],
      [
        ['s3://cli-in/big.jsonl', '-o', 's3://cli-out/p/'],
        { JOB_COMPLETION_INDEX: '0' },
        /set SHARD_COUNT to the Job's completions/,
      ],
      [['s3://cli-in/big.jsonl', '-o', 's3://cli-out/p/', '--shard', '2/2'], {}, /--shard must be INDEX\/COUNT/],
      [['s3://cli-in/big.jsonl', '-o', 's3://cli-out/x.jsonl', '--resume'], {}, /cannot be resumed/],
      [['s3://cli-in/', '-o', 's3://cli-out/p/', '--shard', '0/2'], {}, /cannot tell the format of s3:\/\/cli-in\//],
    ] as [string[], Record<string, string>, RegExp][]) {
      const result = await runCli(args, '', { ...storeEnv(), ...env });
      assert.equal(result.code, exitCodes.usage, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });
});
