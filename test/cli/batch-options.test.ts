import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBatchArgs, UsageError } from '../../src/cli/batch-options.js';
import { flagOf, settings, settingsOf } from '../../src/config/config.js';

// A valid value other than the default for every setting the batch job shares with the server.
const samples: Record<string, string> = {
  MODEL_DIR: '/tmp/some-model',
  ENGINE: 'tfjs',
  ENGINE_THREAD: 'main',
  ENGINE_INSTANCES: '3',
  DEVICE: 'cuda',
  DTYPE: 'q8',
  TFJS_BACKEND: 'wasm',
  INTRA_OP_THREADS: '2',
  INTER_OP_THREADS: '2',
  MAX_BATCH_SIZE: '7',
  MAX_BATCH_TOKENS: '999',
  MAX_PADDING_RATIO: '0.5',
  MAX_WAIT_MS: '5',
  MODEL_ID: 'some-org/some-model',
  REVISION: 'v1',
  HF_TOKEN: 'hf_sample',
  HF_ENDPOINT: 'http://127.0.0.1:1',
  HF_HOME: '/tmp/hf-home',
  HF_HUB_CACHE: '/tmp/hf-cache',
  HF_HUB_OFFLINE: '1',
  TOKENIZER_THREADS: '2',
  BATCH_SHAPES: '1x128,8x128',
  REMOTE_ENGINE_URL: 'grpc://127.0.0.1:8001',
  REMOTE_MODEL: 'some-model',
  REMOTE_MODEL_VERSION: '2',
  REMOTE_CA_FILE: 'package.json',
  REMOTE_TOKEN: 'sample-token',
  REMOTE_WAIT_MS: '1234',
};

/** The remote engine's settings apply with ENGINE=remote only, which needs a model server's address (TLS, for REMOTE_CA_FILE). */
const contextOf = (env: string): NodeJS.ProcessEnv =>
  env.startsWith('REMOTE_') ? { ENGINE: 'remote', REMOTE_ENGINE_URL: 'grpcs://127.0.0.1:9' } : {};

const run = (argv: string[], env: NodeJS.ProcessEnv) => {
  const parsed = parseBatchArgs(['--input-format', 'jsonl', ...argv], env, false);
  assert.equal(parsed.kind, 'run');
  return parsed.options.config;
};

describe('sentiment-batch options', () => {
  it('has a sample for every engine-scope setting (a new one must be added here)', () => {
    assert.deepEqual(
      Object.keys(samples).sort(),
      settingsOf('engine')
        .map((s) => s.env)
        .sort(),
    );
  });

  it('reads every engine-scope setting from the environment and from its flag, as the server does', () => {
    for (const s of settingsOf('engine')) {
      const raw = samples[s.env] ?? '';
      const expected = s.parse(raw, s.env);
      assert.notDeepEqual(expected, s.defaultValue === undefined ? undefined : s.parse(s.defaultValue, s.env), s.env);
      const context = contextOf(s.env);
      assert.deepEqual(run([], { ...context, [s.env]: raw })[s.key], expected, `${s.env} from the environment`);
      assert.deepEqual(run([`--${flagOf(s.env)}`, raw], context)[s.key], expected, `--${flagOf(s.env)}`);
    }
  });

  it('takes no server-only setting as a flag', () => {
    for (const s of settingsOf('server')) {
      assert.throws(() => run([`--${flagOf(s.env)}`, '1'], {}), UsageError, s.env);
    }
    assert.equal(settingsOf('server').length + settingsOf('engine').length, settings.length);
  });
});

describe('parseBatchArgs: object storage and shards', () => {
  const job = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const parsed = parseBatchArgs(argv, env, false);
    assert.equal(parsed.kind, 'run');
    return parsed.kind === 'run' ? parsed.options : assert.fail();
  };
  const sharded = ['s3://in-bucket/day/', '--input-format', 'jsonl', '-o', 's3://out-bucket/day/'];

  it('takes the shard from --shard, else from an Indexed Job (JOB_COMPLETION_INDEX) and SHARD_COUNT', () => {
    assert.deepEqual(job([...sharded, '--shard', '3/16']).job.shard, { index: 3, count: 16 });
    assert.deepEqual(job(sharded, { JOB_COMPLETION_INDEX: '15', SHARD_COUNT: '16' }).job.shard, {
      index: 15,
      count: 16,
    });
    assert.deepEqual(job([...sharded, '--shard', '0/1'], { JOB_COMPLETION_INDEX: '5', SHARD_COUNT: '8' }).job.shard, {
      index: 0,
      count: 1,
    });
    assert.equal(job(['s3://in-bucket/a.jsonl']).job.shard, undefined);
    assert.equal(job([...sharded, '--shard', '1/2', '--part-mib', '5']).job.partBytes, 5 * 1024 * 1024);
    assert.equal(job([...sharded, '--merge']).merge, true);
  });

  it('refuses shards without an s3:// input and output prefix, bad counts, small parts, resuming one object', () => {
    for (const [argv, env, message] of [
      [['local.jsonl', '-o', 's3://out-bucket/p/', '--shard', '0/2'], {}, /INPUT must be s3:/],
      [['s3://in-bucket/a.jsonl', '-o', 's3://out-bucket/a.jsonl', '--shard', '0/2'], {}, /under a prefix/],
      [[...sharded], { JOB_COMPLETION_INDEX: '0' }, /set SHARD_COUNT/],
      [[...sharded, '--shard', '4/4'], {}, /--shard must be INDEX\/COUNT/],
      [[...sharded, '--shard', '0/2', '--part-mib', '4'], {}, /--part-mib must be/],
      [['s3://in-bucket/a.jsonl', '-o', 's3://out-bucket/p/'], {}, /is a prefix: give an object key, or --shard/],
      [['s3://in-bucket/a.jsonl', '-o', 's3://out-bucket/a.jsonl', '--resume'], {}, /cannot be resumed/],
    ] as [string[], NodeJS.ProcessEnv, RegExp][]) {
      assert.throws(
        () => parseBatchArgs(argv, env, false),
        (error: unknown) => {
          assert.ok(error instanceof UsageError, argv.join(' '));
          assert.match(error.message, message, argv.join(' '));
          return true;
        },
      );
    }
  });
});
