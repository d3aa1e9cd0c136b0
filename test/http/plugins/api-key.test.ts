import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startApp, type RunningApp } from '../../support/running-app.js';
import { startServer, type SpawnedServer } from '../../support/spawned-server.js';
import { waitUntil } from '../../support/wait-until.js';

const fixedKey = 'fixed-key-0f3c9a';
const firstFileKey = 'file-key-one-7b21e4';
const rotatedFileKey = 'file-key-two-c90d15';
const polar = 'I love using this product!';

const dir = mkdtempSync(join(tmpdir(), 'api-keys-'));
const keyFile = join(dir, 'keys');

/** Replaces the key file the way a Secret volume does: a new file renamed over the old one. */
function writeKeys(...keys: string[]): void {
  const next = join(dir, `keys.${Date.now()}`);
  writeFileSync(next, `# rotated by the test\n${keys.join('\n')}\n`);
  renameSync(next, keyFile);
}

function analyze(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/analyze`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ text: polar }),
  });
}

async function authFailures(url: string, reason: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((candidate) => candidate.startsWith(`sentiment_auth_failures_total{reason="${reason}"} `));
  assert.ok(line, `sentiment_auth_failures_total{reason="${reason}"} is exported`);
  return Number(line.split(' ')[1]);
}

describe('API keys on a running server', () => {
  let server: SpawnedServer;
  before(async () => {
    writeKeys(firstFileKey);
    server = await startServer({ HOST: '127.0.0.1', LOG_LEVEL: 'debug', API_KEYS: fixedKey, API_KEY_FILE: keyFile });
  });
  after(async () => {
    if (server.child.exitCode === null) server.child.kill('SIGTERM');
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses /analyze without a key: 401, WWW-Authenticate: Bearer, the JSON error shape, counted as missing', async () => {
    const before = await authFailures(server.url, 'missing');
    const response = await analyze(server.url);
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer');
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.statusCode, 401);
    assert.equal(body.error, 'Unauthorized');
    assert.match(String(body.message), /Authorization: Bearer/);
    assert.equal(await authFailures(server.url, 'missing'), before + 1);
  });

  it('refuses a wrong key and a header that is not Bearer, each under its reason', async () => {
    const invalid = await authFailures(server.url, 'invalid');
    const wrong = await analyze(server.url, { authorization: `Bearer ${fixedKey}x` });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    assert.equal(await authFailures(server.url, 'invalid'), invalid + 1);

    const malformed = await authFailures(server.url, 'malformed');
    const basic = await analyze(server.url, {
      authorization: `Basic ${Buffer.from(`u:${fixedKey}`).toString('base64')}`,
    });
    assert.equal(basic.status, 401);
    assert.equal(await authFailures(server.url, 'malformed'), malformed + 1);
  });

  it('answers with a right key, from API_KEYS or from the file', async () => {
    for (const key of [fixedKey, firstFileKey]) {
      const response = await analyze(server.url, { authorization: `Bearer ${key}` });
      assert.equal(response.status, 200, key);
      const [prediction] = (await response.json()) as { label: string }[];
      assert.equal(prediction?.label, 'POSITIVE');
    }
  });

  it('takes a rotated key file without a restart: the new key works, the old one is refused', async () => {
    writeKeys(rotatedFileKey);
    await waitUntil(
      async () => (await analyze(server.url, { authorization: `Bearer ${rotatedFileKey}` })).status === 200,
      100,
    );
    assert.equal((await analyze(server.url, { authorization: `Bearer ${firstFileKey}` })).status, 401);
    assert.equal((await analyze(server.url, { authorization: `Bearer ${fixedKey}` })).status, 200);
  });

  it("guards every protocol's inference route, answering 401 in that protocol's error shape; health stays open", async () => {
    const info = (await (await fetch(`${server.url}/info`)).json()) as { model: { name: string } };
    const missing = 'an API key is required: send Authorization: Bearer <key>';
    const infer = {
      '/analyze': {
        body: { text: polar },
        refusal: { statusCode: 401, error: 'Unauthorized', message: missing },
      },
      '/': { body: { inputs: polar }, refusal: { error: missing } },
      '/predict': { body: { inputs: polar }, refusal: { error: missing, error_type: 'Unauthorized' } },
      [`/v2/models/${info.model.name}/infer`]: {
        body: { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [polar] }] },
        refusal: { error: missing },
      },
    };
    for (const [path, { body, refusal }] of Object.entries(infer)) {
      const post = (headers: Record<string, string>): Promise<Response> =>
        fetch(`${server.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
      const refused = await post({});
      assert.equal(refused.status, 401, path);
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer', path);
      assert.deepEqual(await refused.json(), refusal, path);
      const wrong = await post({ authorization: `Bearer ${fixedKey}x` });
      assert.equal(wrong.status, 401, path);
      assert.equal(wrong.headers.get('www-authenticate'), 'Bearer error="invalid_token"', path);
      const wrongBody = (await wrong.json()) as { message?: string; error: string };
      assert.equal(wrongBody.message ?? wrongBody.error, 'the API key is not valid', path);
      assert.equal((await post({ authorization: `Bearer ${fixedKey}` })).status, 200, path);
    }
    for (const path of ['/health', '/v2/health/ready', '/v2/health/live', `/v2/models/${info.model.name}/ready`]) {
      assert.equal((await fetch(`${server.url}${path}`)).status, 200, path);
    }
  });

  it('keeps probes, /metrics, /docs and /info open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/docs/json', '/info']) {
      assert.equal((await fetch(`${server.url}${path}`)).status, 200, path);
    }
  });

  it('documents the key and the 401 in the OpenAPI document, on /analyze only', async () => {
    const document = (await (await fetch(`${server.url}/docs/json`)).json()) as {
      components: { securitySchemes: Record<string, { type: string; scheme: string }> };
      paths: Record<
        string,
        Record<string, { responses: Record<string, unknown>; security?: Record<string, unknown>[] }>
      >;
    };
    const analyze = document.paths['/analyze']?.post;
    assert.ok(analyze?.responses['401']);
    const [scheme] = Object.keys(analyze?.security?.[0] ?? {});
    assert.ok(scheme, '/analyze lists a security requirement');
    assert.deepEqual(document.components.securitySchemes[scheme], {
      type: 'http',
      scheme: 'bearer',
      description: 'an API key (API_KEYS / API_KEY_FILE)',
    });
    assert.equal(document.paths['/healthz']?.get?.security, undefined);
    const teiRefusal = JSON.stringify(document.paths['/predict']?.post?.responses['401']);
    assert.match(teiRefusal, /error_type/, "/predict documents its 401 in TEI's shape");
  });

  it('never writes a key to the log, even at debug level (checked on everything the server wrote, once stopped)', async () => {
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    assert.equal(exit.code, 0);
    assert.match(exit.stdout, /"statusCode":401/, 'the refusals were logged');
    for (const key of [fixedKey, firstFileKey, rotatedFileKey]) {
      assert.ok(!exit.stdout.includes(key) && !exit.stderr.includes(key), `${key} appears in the output`);
    }
  });
});

describe('API_KEY_FOR_DOCS=true', () => {
  let running: RunningApp;
  before(async () => (running = await startApp({ API_KEYS: fixedKey, API_KEY_FOR_DOCS: 'true' })));
  after(() => running.service.close());

  it('closes /docs, /docs/json and /info to callers without the key, and leaves probes and /metrics open', async () => {
    for (const path of ['/docs', '/docs/json', '/info']) {
      const refused = await fetch(`${running.url}${path}`);
      assert.equal(refused.status, 401, path);
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer');
      const allowed = await fetch(`${running.url}${path}`, { headers: { authorization: `Bearer ${fixedKey}` } });
      assert.equal(allowed.status, 200, path);
    }
    for (const path of ['/healthz', '/readyz', '/metrics'])
      assert.equal((await fetch(`${running.url}${path}`)).status, 200, path);
  });
});
