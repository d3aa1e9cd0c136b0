import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import type { HubLog, RetryPolicy } from '../../src/hub/hub-client.js';
import { HubError } from '../../src/hub/hub-errors.js';
import { resolveHubSnapshot, type HubSettings } from '../../src/hub/hub-snapshot.js';
import { readModelDir } from '../../src/model/model-dir.js';
import {
  closedPort,
  defaultModelDir,
  HUB_TOKEN,
  standInRepos,
  startHubStandIn,
  type HubStandIn,
} from '../support/hub-stand-in.js';

const fast: RetryPolicy = { attempts: 3, firstDelayMs: 10, requestTimeoutMs: 5_000, stallTimeoutMs: 5_000 };
const { repos, v1, main, files } = standInRepos();
// What the default DTYPE=auto takes on CPU when the repository has it.
const onnxFile = 'onnx/model_quantized.onnx';
const sha256 = (content: Buffer | undefined): string =>
  createHash('sha256')
    .update(content ?? Buffer.alloc(0))
    .digest('hex');
const onnxSha = sha256(files.get(onnxFile));

let hub: HubStandIn;
const scratch = mkdtempSync(join(tmpdir(), 'hub-snapshot-test-'));
before(async () => (hub = await startHubStandIn(repos)));
after(async () => {
  await hub.close();
  rmSync(scratch, { recursive: true, force: true });
});

let caches = 0;
function freshCache(): string {
  return join(scratch, `cache-${++caches}`);
}

class Lines implements HubLog {
  readonly lines: { level: string; fields: object; message: string }[] = [];
  info(fields: object, message: string): void {
    this.lines.push({ level: 'info', fields, message });
  }
  warn(fields: object, message: string): void {
    this.lines.push({ level: 'warn', fields, message });
  }
  debug(fields: object, message: string): void {
    this.lines.push({ level: 'debug', fields, message });
  }
}

function settingsFor(modelId: string, cache: string, env: Record<string, string> = {}): HubSettings {
  const config = loadConfig([], {
    MODEL_ID: modelId,
    HF_HUB_CACHE: cache,
    HF_HOME: join(cache, 'home'),
    HF_ENDPOINT: hub.url,
    ...env,
  });
  return { ...config, modelId };
}

async function failure(promise: Promise<unknown>): Promise<HubError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof HubError, `a HubError, got ${String(error)}`);
    return error;
  }
  assert.fail('it succeeded');
}

/** Leftovers a crash or a failed download must not leave: temporary blobs, temporary links. */
function temporaries(cache: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (/\.(incomplete|link|tmp)$/.test(entry.name)) found.push(join(dir, entry.name));
    }
  };
  walk(cache);
  return found;
}

describe('resolveHubSnapshot against a Hub stand-in', () => {
  it('downloads only what the engine needs into the huggingface_hub cache layout', async () => {
    const cache = freshCache();
    const log = new Lines();
    const snapshot = await resolveHubSnapshot(settingsFor('test-org/sentiment', cache), log, fast);
    const repoDir = join(cache, 'models--test-org--sentiment');
    assert.deepEqual(snapshot, {
      modelId: 'test-org/sentiment',
      revision: 'main',
      commit: main,
      dir: join(repoDir, 'snapshots', main),
    });
    assert.equal(readFileSync(join(repoDir, 'refs', 'main'), 'utf8'), main);
    // LFS files are named by their sha256, linked relatively from the snapshot (one ../ more per sub-folder).
    assert.equal(readlinkSync(join(snapshot.dir, onnxFile)), `../../../blobs/${onnxSha}`);
    assert.deepEqual(readFileSync(join(repoDir, 'blobs', onnxSha)), files.get(onnxFile));
    const configLink = readlinkSync(join(snapshot.dir, 'config.json'));
    assert.match(configLink, /^\.\.\/\.\.\/blobs\/[0-9a-f]{40}$/);
    assert.ok(lstatSync(join(snapshot.dir, 'config.json')).isSymbolicLink());
    assert.deepEqual(readdirSync(snapshot.dir).sort(), [
      'config.json',
      'onnx',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    assert.match(readFileSync(join(cache, 'CACHEDIR.TAG'), 'utf8'), /^Signature: 8a477f597d28d172789f06886806bc55/);
    // Nothing the ONNX engine does not read (safetensors, vocab.txt) was fetched.
    assert.equal(hub.contentGets('test-org/sentiment/model.safetensors'), 0);
    assert.equal(hub.contentGets('test-org/sentiment/vocab.txt'), 0);
    assert.deepEqual(temporaries(cache), []);
    // The snapshot is a model directory the server reads; main's labels are the renamed ones.
    const model = readModelDir(snapshot.dir, 'auto', 'onnx');
    assert.equal(model.dtype, 'q8');
    // DTYPE=auto fetched the int8 file and not the float32 one beside it.
    assert.equal(hub.contentGets('test-org/sentiment/onnx/model.onnx'), 0);
    assert.deepEqual(
      model.labels,
      readModelDir(defaultModelDir, 'fp32', 'onnx').labels.map((l) => l.toLowerCase()),
    );

    // A second resolve asks the Hub (HEAD) but downloads nothing again.
    const gets = hub.contentGets(`test-org/sentiment/${onnxFile}`);
    assert.equal(gets, 1);
    await resolveHubSnapshot(settingsFor('test-org/sentiment', cache), new Lines(), fast);
    assert.equal(hub.contentGets(`test-org/sentiment/${onnxFile}`), 1);
  });

  it('sends the token to the Hub but never to the CDN a large file redirects to', async () => {
    const cache = freshCache();
    const start = hub.requests.length;
    await resolveHubSnapshot(
      settingsFor('test-org/gated-sentiment', cache, { HF_TOKEN: HUB_TOKEN }),
      new Lines(),
      fast,
    );
    const made = hub.requests.slice(start);
    assert.ok(
      made.some(
        (r) => r.path.startsWith('/test-org/gated-sentiment/resolve/') && r.authorization === `Bearer ${HUB_TOKEN}`,
      ),
    );
    const cdn = made.filter((r) => r.path.startsWith('/cdn/'));
    assert.ok(cdn.length > 0);
    assert.ok(cdn.every((r) => r.authorization === undefined));
  });

  it('downloads each file once when two resolves share one cache at the same time', async () => {
    const cache = freshCache();
    const key = 'test-org/no-tokenizer/config.json';
    const logs = [new Lines(), new Lines()];
    // Missing tokenizer.json makes both fail after config.json and tokenizer_config.json: enough to see the lock.
    const results = await Promise.allSettled(
      logs.map((log) => resolveHubSnapshot(settingsFor('test-org/no-tokenizer', cache), log, fast)),
    );
    assert.ok(results.every((r) => r.status === 'rejected'));
    assert.equal(hub.contentGets(key), 1);
    assert.ok(logs.some((log) => log.lines.some((l) => /another process is downloading this file/.test(l.message))));
    assert.ok(existsSync(join(cache, '.locks', 'models--test-org--no-tokenizer')));
  });

  it('pins a revision: a tag resolves to its commit, recorded in refs/', async () => {
    const cache = freshCache();
    const snapshot = await resolveHubSnapshot(
      settingsFor('test-org/sentiment', cache, { REVISION: 'v1' }),
      new Lines(),
      fast,
    );
    assert.equal(snapshot.commit, v1);
    assert.equal(readFileSync(join(cache, 'models--test-org--sentiment', 'refs', 'v1'), 'utf8'), v1);
    assert.deepEqual(readFileSync(join(snapshot.dir, 'config.json')), files.get('config.json'));
    // A commit is its own pin, and needs no refs/ entry.
    const byCommit = await resolveHubSnapshot(
      settingsFor('test-org/sentiment', cache, { REVISION: main }),
      new Lines(),
      fast,
    );
    assert.equal(byCommit.commit, main);
    assert.ok(!existsSync(join(cache, 'models--test-org--sentiment', 'refs', main)));
  });

  it('takes float32 with DTYPE=auto when the repository has no int8 file', async () => {
    const cache = freshCache();
    const snapshot = await resolveHubSnapshot(settingsFor('test-org/float-only', cache), new Lines(), fast);
    assert.deepEqual(readdirSync(join(snapshot.dir, 'onnx')), ['model.onnx']);
    assert.equal(readModelDir(snapshot.dir, 'auto', 'onnx').dtype, 'fp32');
    // The absence is noted, so a second resolve does not ask for the int8 file again.
    const asked = hub.requests.length;
    await resolveHubSnapshot(settingsFor('test-org/float-only', cache), new Lines(), fast);
    assert.ok(hub.requests.slice(asked).every((r) => !r.path.includes('model_quantized')));
  });

  it('downloads model.safetensors, not the ONNX file, for ENGINE=tfjs', async () => {
    const cache = freshCache();
    const before = hub.contentGets('test-org/no-onnx/model.safetensors');
    const snapshot = await resolveHubSnapshot(
      settingsFor('test-org/no-onnx', cache, { ENGINE: 'tfjs' }),
      new Lines(),
      fast,
    );
    assert.equal(hub.contentGets('test-org/no-onnx/model.safetensors'), before + 1);
    assert.ok(existsSync(join(snapshot.dir, 'model.safetensors')));
    assert.ok(!existsSync(join(snapshot.dir, 'onnx')));
  });

  it('notes an optional file the repository lacks in .no_exist/, as huggingface_hub does', async () => {
    const cache = freshCache();
    const snapshot = await resolveHubSnapshot(settingsFor('test-org/minimal', cache), new Lines(), fast);
    assert.ok(
      existsSync(join(cache, 'models--test-org--minimal', '.no_exist', snapshot.commit, 'special_tokens_map.json')),
    );
  });

  it('resumes a download cut mid-file with a Range request, and checks its sha256', async () => {
    const cache = freshCache();
    hub.faults.dropOnce.add(`test-org/sentiment/${onnxFile}`);
    const start = hub.requests.length;
    const log = new Lines();
    const snapshot = await resolveHubSnapshot(settingsFor('test-org/sentiment', cache), log, fast);
    assert.equal(sha256(readFileSync(join(snapshot.dir, onnxFile))), onnxSha);
    const ranged = hub.requests
      .slice(start)
      .filter((r) => r.path === `/cdn/test-org/sentiment/${onnxSha}` && r.range !== undefined);
    assert.equal(ranged.length, 1, 'the second attempt asked for the rest only');
    assert.ok(log.lines.some((l) => l.level === 'warn' && /retrying/.test(l.message)));
    assert.deepEqual(temporaries(cache), []);
  });

  it('logs the progress of a large file at info', async () => {
    const big = randomBytes(11 * 1024 * 1024);
    const bigHub = await startHubStandIn({
      'test-org/big': { commits: { [main]: new Map([...files, [onnxFile, big]]) }, refs: { main } },
    });
    try {
      const log = new Lines();
      const config = loadConfig([], { MODEL_ID: 'test-org/big', HF_HUB_CACHE: freshCache(), HF_ENDPOINT: bigHub.url });
      await resolveHubSnapshot({ ...config, modelId: 'test-org/big' }, log, fast);
      const progress = log.lines.filter((l) => l.level === 'info' && l.message === 'download progress');
      assert.ok(progress.length >= 5 && progress.length <= 10, `${progress.length} progress lines`);
      const done = log.lines.find((l) => l.level === 'info' && l.message === 'downloaded from the Hub');
      assert.deepEqual(
        { ...done?.fields, seconds: 0 },
        { file: onnxFile, bytes: big.length, seconds: 0, verified: 'sha256' },
      );
    } finally {
      await bigHub.close();
    }
  });

  it('cuts and resumes a download that stalls', async () => {
    hub.faults.stallOnce.add(`test-org/sentiment/${onnxFile}`);
    const log = new Lines();
    const snapshot = await resolveHubSnapshot(settingsFor('test-org/sentiment', freshCache()), log, {
      ...fast,
      stallTimeoutMs: 300,
    });
    assert.equal(sha256(readFileSync(join(snapshot.dir, onnxFile))), onnxSha);
    assert.equal(hub.faults.stallOnce.size, 0);
    assert.ok(
      log.lines.some(
        (l) =>
          l.level === 'warn' && /connection cut after \d+ bytes/.test(String((l.fields as { reason?: string }).reason)),
      ),
    );
  });

  it("follows a renamed repository's relative redirect, caching under the id asked for", async () => {
    const cache = freshCache();
    const snapshot = await resolveHubSnapshot(settingsFor('old-org/sentiment', cache), new Lines(), fast);
    assert.equal(snapshot.commit, main);
    assert.ok(existsSync(join(cache, 'models--old-org--sentiment', 'snapshots', main, onnxFile)));
  });

  it('retries a Hub answering 503 with backoff', async () => {
    hub.faults.unavailable = 2;
    const snapshot = await resolveHubSnapshot(settingsFor('test-org/sentiment', freshCache()), new Lines(), fast);
    assert.equal(snapshot.commit, main);
    assert.equal(hub.faults.unavailable, 0);
  });

  it('refuses a file whose content does not match its sha256, and caches nothing of it', async () => {
    const cache = freshCache();
    hub.faults.corrupt.add(`test-org/sentiment/${onnxFile}`);
    try {
      const error = await failure(resolveHubSnapshot(settingsFor('test-org/sentiment', cache), new Lines(), fast));
      assert.match(
        error.message,
        /onnx\/model_quantized\.onnx .*arrived damaged 3 times \(sha256 [0-9a-f]{64}, expected [0-9a-f]{64}\); nothing was cached/,
      );
    } finally {
      hub.faults.corrupt.clear();
    }
    const repoDir = join(cache, 'models--test-org--sentiment');
    assert.ok(!existsSync(join(repoDir, 'blobs', onnxSha)));
    assert.ok(!existsSync(join(repoDir, 'snapshots', main, onnxFile)));
    assert.deepEqual(temporaries(cache), []);
    // Offline, that half-filled snapshot is not taken for a model.
    const offline = await failure(
      resolveHubSnapshot(settingsFor('test-org/sentiment', cache, { HF_HUB_OFFLINE: '1' }), new Lines(), fast),
    );
    assert.match(offline.message, /missing: onnx\/model\.onnx/);
  });

  it('recovers from what a crash leaves: a partial temporary file and a link to a missing blob', async () => {
    const cache = freshCache();
    await resolveHubSnapshot(settingsFor('test-org/sentiment', cache), new Lines(), fast);
    const blobs = join(cache, 'models--test-org--sentiment', 'blobs');
    rmSync(join(blobs, onnxSha));
    writeFileSync(join(blobs, `${onnxSha}.0badc0de.incomplete`), (files.get(onnxFile) as Buffer).subarray(0, 1000));
    const snapshot = await resolveHubSnapshot(settingsFor('test-org/sentiment', cache), new Lines(), fast);
    assert.equal(sha256(readFileSync(join(snapshot.dir, onnxFile))), onnxSha);
  });

  it('serves a cached snapshot offline, and from a cache built by hand in the same layout', async () => {
    const cache = freshCache();
    await resolveHubSnapshot(settingsFor('test-org/sentiment', cache), new Lines(), fast);
    const start = hub.requests.length;
    const offline = await resolveHubSnapshot(
      settingsFor('test-org/sentiment', cache, { HF_HUB_OFFLINE: '1' }),
      new Lines(),
      fast,
    );
    assert.equal(offline.commit, main);
    assert.equal(hub.requests.length, start, 'no request made');

    // What `huggingface-cli download` leaves: blobs named by ETag, refs/main, relative links. (Written by hand here:
    // huggingface_hub is not a dependency of the tests.)
    const handmade = freshCache();
    const repoDir = join(handmade, 'models--other-org--copied');
    const commit = 'c'.repeat(40);
    mkdirSync(join(repoDir, 'refs'), { recursive: true });
    writeFileSync(join(repoDir, 'refs', 'main'), commit);
    for (const path of ['config.json', 'tokenizer.json', 'tokenizer_config.json', onnxFile]) {
      const content = files.get(path) as Buffer;
      mkdirSync(join(repoDir, 'blobs'), { recursive: true });
      writeFileSync(join(repoDir, 'blobs', sha256(content)), content);
      const depth = path.split('/').length - 1;
      mkdirSync(join(repoDir, 'snapshots', commit, 'onnx'), { recursive: true });
      symlinkSync(`${'../'.repeat(depth + 2)}blobs/${sha256(content)}`, join(repoDir, 'snapshots', commit, path));
    }
    const served = await resolveHubSnapshot(
      settingsFor('other-org/copied', handmade, { HF_HUB_OFFLINE: '1' }),
      new Lines(),
      fast,
    );
    assert.equal(served.commit, commit);
    readModelDir(served.dir, 'auto', 'onnx');
  });

  describe('says what went wrong, and what to do', () => {
    it('a repository that does not exist (401 without a token, 404 with one)', async () => {
      const anonymous = await failure(
        resolveHubSnapshot(settingsFor('test-org/nothing-here', freshCache()), new Lines(), fast),
      );
      assert.match(
        anonymous.message,
        /model repository test-org\/nothing-here \(revision main\) on http:\/\/127\.0\.0\.1:\d+ not found \(HTTP 401\): check MODEL_ID; if the repository is private or gated, HF_TOKEN is needed/,
      );
      const withToken = await failure(
        resolveHubSnapshot(
          settingsFor('test-org/nothing-here', freshCache(), { HF_TOKEN: HUB_TOKEN }),
          new Lines(),
          fast,
        ),
      );
      assert.match(withToken.message, /not found \(HTTP 404\): check MODEL_ID$/);
    });

    it('a revision that does not exist', async () => {
      const error = await failure(
        resolveHubSnapshot(settingsFor('test-org/sentiment', freshCache(), { REVISION: 'v9' }), new Lines(), fast),
      );
      assert.match(error.message, /revision v9 not found in test-org\/sentiment .*check REVISION/);
    });

    it('a required file missing from the repository', async () => {
      const error = await failure(
        resolveHubSnapshot(settingsFor('test-org/no-tokenizer', freshCache()), new Lines(), fast),
      );
      assert.match(
        error.message,
        /test-org\/no-tokenizer \(revision main\) on .* has no tokenizer\.json: the fast tokenizer file is needed/,
      );
    });

    it('a gated repository without a token, and with a token that was not granted access', async () => {
      const none = await failure(
        resolveHubSnapshot(settingsFor('test-org/gated-sentiment', freshCache()), new Lines(), fast),
      );
      assert.match(none.message, /is gated \(HTTP 401\): HF_TOKEN is needed/);
      const wrong = await failure(
        resolveHubSnapshot(
          settingsFor('test-org/gated-sentiment', freshCache(), { HF_TOKEN: 'hf_other' }),
          new Lines(),
          fast,
        ),
      );
      assert.match(wrong.message, /is gated \(HTTP 403\): HF_TOKEN is needed.*\(the HF_TOKEN given has not\)/);
    });

    it('an invalid token', async () => {
      const error = await failure(
        resolveHubSnapshot(
          settingsFor('test-org/sentiment', freshCache(), { HF_TOKEN: 'hf_expired' }),
          new Lines(),
          fast,
        ),
      );
      assert.match(error.message, /HF_TOKEN was refused by .* \(HTTP 401\): HF_TOKEN is needed with read access/);
    });

    it('no ONNX export, with the command that makes one', async () => {
      const error = await failure(resolveHubSnapshot(settingsFor('test-org/no-onnx', freshCache()), new Lines(), fast));
      assert.match(
        error.message,
        /has no onnx\/model\.onnx: the repository has no ONNX export \(DTYPE=auto takes onnx\/model_quantized\.onnx, else this one\)\. Make one with `optimum-cli export onnx --task text-classification --model test-org\/no-onnx <dir>`/,
      );
      const quantized = await failure(
        resolveHubSnapshot(settingsFor('test-org/no-onnx', freshCache(), { DTYPE: 'q8' }), new Lines(), fast),
      );
      assert.match(
        quantized.message,
        /has no onnx\/model_quantized\.onnx: the repository has no ONNX export for DTYPE=q8/,
      );
    });

    it('offline with nothing cached', async () => {
      const cache = freshCache();
      const error = await failure(
        resolveHubSnapshot(settingsFor('test-org/sentiment', cache, { HF_HUB_OFFLINE: '1' }), new Lines(), fast),
      );
      assert.equal(
        error.message,
        `HF_HUB_OFFLINE is set and test-org/sentiment (revision main) is not in the cache ${cache} ` +
          '(missing: config.json, tokenizer_config.json, tokenizer.json, onnx/model.onnx): pre-pull it with ' +
          '`sentiment-model pull test-org/sentiment --revision main` (or huggingface-cli download) with the same ' +
          'HF_HOME / HF_HUB_CACHE, or unset HF_HUB_OFFLINE',
      );
    });

    it('the network unreachable: an error with nothing cached, the cached snapshot otherwise', async () => {
      const cache = freshCache();
      const nowhere = `http://127.0.0.1:${await closedPort()}`;
      const error = await failure(
        resolveHubSnapshot(settingsFor('test-org/sentiment', cache, { HF_ENDPOINT: nowhere }), new Lines(), fast),
      );
      assert.match(
        error.message,
        new RegExp(
          `^cannot reach HF_ENDPOINT ${nowhere} \\(ECONNREFUSED, 3 attempts\\), and test-org/sentiment \\(revision main\\) is not in the cache`,
        ),
      );

      await resolveHubSnapshot(settingsFor('test-org/sentiment', cache), new Lines(), fast);
      const log = new Lines();
      const cached = await resolveHubSnapshot(
        settingsFor('test-org/sentiment', cache, { HF_ENDPOINT: nowhere }),
        log,
        fast,
      );
      assert.equal(cached.commit, main);
      assert.ok(
        log.lines.some((l) => l.level === 'warn' && /unreachable: serving the cached snapshot/.test(l.message)),
      );
    });
  });
});
