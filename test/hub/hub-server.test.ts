import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/config/package-root.js';
import type { Prediction } from '../../src/inference/postprocess.js';
import { HUB_TOKEN, standInRepos, startHubStandIn, type HubStandIn } from '../support/hub-stand-in.js';
import { runUntilExit, startServer, type SpawnedServer } from '../support/spawned-server.js';

// The server and `sentiment-model pull` as processes, loading the model by Hub id from a local Hub stand-in.

const run = promisify(execFile);
const { repos, v1, main } = standInRepos();
const scratch = mkdtempSync(join(tmpdir(), 'hub-server-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let hub: HubStandIn;
before(async () => (hub = await startHubStandIn(repos)));
after(() => hub.close());

const positive = 'I love using this product!';
const negative = 'This is the worst purchase I have ever made.';

async function labelOf(server: SpawnedServer, text: string): Promise<string | undefined> {
  const response = await fetch(`${server.url}/analyze`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  });
  assert.equal(response.status, 200);
  return ((await response.json()) as Prediction[])[0]?.label;
}

interface Info {
  model: { name: string; id: string | null; revision: string | null; sha: string | null; labels: string[] };
}
async function infoOf(server: SpawnedServer): Promise<Info> {
  return (await (await fetch(`${server.url}/info`)).json()) as Info;
}

async function stop(server: SpawnedServer): Promise<string> {
  server.child.kill('SIGTERM');
  const exit = await server.exited;
  return exit.stdout + exit.stderr;
}

function hubEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    MODEL_ID: 'test-org/sentiment',
    HF_ENDPOINT: hub.url,
    HF_HOME: home,
    HF_HUB_CACHE: '',
    HF_TOKEN: '',
    ...extra,
  };
}

describe('MODEL_ID: the server loads a model by Hub id', () => {
  it('downloads, caches and serves it, reports id, revision and sha in /info, and never logs HF_TOKEN', {
    timeout: 90_000,
  }, async () => {
    const home = join(scratch, 'first-start');
    const server = await startServer(hubEnv(home, { HF_TOKEN: HUB_TOKEN }));
    let output: string;
    try {
      // main's config.json renames the labels to lower case (see standInRepos).
      assert.equal(await labelOf(server, positive), 'positive');
      assert.equal(await labelOf(server, negative), 'negative');
      const info = await infoOf(server);
      assert.equal(info.model.name, 'test-org/sentiment');
      assert.equal(info.model.id, 'test-org/sentiment');
      assert.equal(info.model.revision, 'main');
      assert.equal(info.model.sha, main);
      assert.ok(!JSON.stringify(info).includes(HUB_TOKEN));
    } finally {
      output = await stop(server);
    }
    assert.ok(
      existsSync(join(home, 'hub', 'models--test-org--sentiment', 'snapshots', main, 'onnx', 'model_quantized.onnx')),
    );
    assert.match(output, /resolved the model on the Hub/);
    assert.ok(!output.includes(HUB_TOKEN), 'the token appears in no log line');
  });

  it('starts again with HF_HUB_OFFLINE=1 and no Hub, from the cache', { timeout: 90_000 }, async () => {
    const home = join(scratch, 'offline');
    // A Hub of its own, to be stopped.
    const ownHub = await startHubStandIn(repos);
    const first = await startServer({ ...hubEnv(home), HF_ENDPOINT: ownHub.url });
    await stop(first);
    await ownHub.close();

    const server = await startServer({ ...hubEnv(home), HF_ENDPOINT: ownHub.url, HF_HUB_OFFLINE: '1' });
    try {
      assert.equal(await labelOf(server, positive), 'positive');
      assert.equal((await infoOf(server)).model.sha, main);
    } finally {
      await stop(server);
    }
  });

  it('serves the revision asked for (REVISION=v1: the original labels)', { timeout: 90_000 }, async () => {
    const server = await startServer(hubEnv(join(scratch, 'pinned'), { REVISION: 'v1' }));
    try {
      assert.equal(await labelOf(server, positive), 'POSITIVE');
      const info = await infoOf(server);
      assert.equal(info.model.revision, 'v1');
      assert.equal(info.model.sha, v1);
    } finally {
      await stop(server);
    }
  });

  it('two servers starting at once on one empty cache both serve, and each file is downloaded once', {
    timeout: 120_000,
  }, async () => {
    const home = join(scratch, 'shared');
    const key = 'test-org/minimal/onnx/model_quantized.onnx';
    const before = hub.contentGets(key);
    const configBefore = hub.contentGets('test-org/minimal/config.json');
    const env = hubEnv(home, { MODEL_ID: 'test-org/minimal' });
    const servers = await Promise.all([startServer(env), startServer(env)]);
    try {
      for (const server of servers) assert.equal(await labelOf(server, negative), 'NEGATIVE');
    } finally {
      await Promise.all(servers.map(stop));
    }
    assert.equal(hub.contentGets(key) - before, 1);
    assert.equal(hub.contentGets('test-org/minimal/config.json') - configBefore, 1);
  });

  it('exits non-zero with the reason: a gated model without HF_TOKEN', { timeout: 60_000 }, async () => {
    const exit = await runUntilExit(hubEnv(join(scratch, 'gated'), { MODEL_ID: 'test-org/gated-sentiment' }));
    assert.equal(exit.code, 1);
    assert.match(
      exit.stderr,
      /cannot start: model repository test-org\/gated-sentiment .* is gated \(HTTP 401\): HF_TOKEN is needed/,
    );
  });

  it('exits with a configuration error when MODEL_ID and MODEL_DIR are both given', { timeout: 60_000 }, async () => {
    const exit = await runUntilExit(hubEnv(join(scratch, 'both'), { MODEL_DIR: join(packageRoot, 'models') }));
    assert.equal(exit.code, 2);
    assert.match(exit.stderr, /MODEL_ID \(test-org\/sentiment\) and MODEL_DIR are both set/);
  });
});

describe('sentiment-model pull', () => {
  const cli = join(packageRoot, 'dist', 'src', 'cli', 'model.js');
  const pull = (args: string[], env: Record<string, string>) =>
    run(process.execPath, [cli, ...args], { env: { ...process.env, ...env } });

  it('fills the cache with a gated model (token from HF_TOKEN) and prints the snapshot directory', {
    timeout: 60_000,
  }, async () => {
    const home = join(scratch, 'pull');
    const env = { HF_ENDPOINT: hub.url, HF_HOME: home, HF_TOKEN: HUB_TOKEN, MODEL_ID: '', MODEL_DIR: '' };
    const { stdout, stderr } = await pull(['pull', 'test-org/gated-sentiment', '--revision', 'main'], env);
    const dir = stdout.trim();
    assert.match(
      dir,
      new RegExp(`^${join(home, 'hub', 'models--test-org--gated-sentiment', 'snapshots')}/[0-9a-f]{40}$`),
    );
    assert.ok(existsSync(join(dir, 'onnx', 'model_quantized.onnx')));
    assert.match(stderr, /model pulled/);
    assert.ok(!stderr.includes(HUB_TOKEN));
    // Offline, the pulled model is found again without the Hub.
    const again = await pull(['pull', 'test-org/gated-sentiment'], {
      ...env,
      HF_ENDPOINT: 'http://127.0.0.1:9',
      HF_HUB_OFFLINE: '1',
    });
    assert.equal(again.stdout.trim(), dir);
  });

  it('exits 1 with the reason, and 2 on a usage error', { timeout: 60_000 }, async () => {
    const env = {
      HF_ENDPOINT: hub.url,
      HF_HOME: join(scratch, 'pull-errors'),
      HF_TOKEN: '',
      MODEL_ID: '',
      MODEL_DIR: '',
    };
    await assert.rejects(pull(['pull', 'test-org/no-onnx'], env), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, /optimum-cli export onnx --task text-classification/);
      return true;
    });
    await assert.rejects(pull(['fetch'], env), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr, /usage: sentiment-model pull MODEL_ID/);
      return true;
    });
  });
});
