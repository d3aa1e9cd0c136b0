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
};

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
      assert.deepEqual(run([], { [s.env]: raw })[s.key], expected, `${s.env} from the environment`);
      assert.deepEqual(run([`--${flagOf(s.env)}`, raw], {})[s.key], expected, `--${flagOf(s.env)}`);
    }
  });

  it('takes no server-only setting as a flag', () => {
    for (const s of settingsOf('server')) {
      assert.throws(() => run([`--${flagOf(s.env)}`, '1'], {}), UsageError, s.env);
    }
    assert.equal(settingsOf('server').length + settingsOf('engine').length, settings.length);
  });
});
