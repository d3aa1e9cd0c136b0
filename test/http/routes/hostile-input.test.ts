import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { createEngine } from '../../../src/engine/create-engine.js';
import { loadModel } from '../../../src/model/model.js';
import { readModelDir } from '../../../src/model/model-dir.js';
import { Service } from '../../../src/service.js';
import { testConfig } from '../../support/config.js';
import { openConnection, transcript } from '../../support/raw-http.js';
import { loadRealModel } from '../../support/real-model.js';
import { metricValue, startApp, type RunningApp } from '../../support/running-app.js';

const bodyTimeoutMs = 800;
let running: RunningApp;
let port: number;
before(async () => {
  running = await startApp({
    BODY_TIMEOUT_MS: String(bodyTimeoutMs),
    BODY_LIMIT_BYTES: '4096',
    BODY_BUFFER_LIMIT_BYTES: '8192',
  });
  port = Number(new URL(running.url).port);
});
after(() => running.service.close());

const scratch = mkdtempSync(join(tmpdir(), 'hostile-input-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function post(body: string, contentType = 'application/json'): Promise<Response> {
  return fetch(`${running.url}/analyze`, { method: 'POST', headers: { 'content-type': contentType }, body });
}

/** A POST whose headers promise `length` bytes of body, of which only the first few are sent. */
async function stalledUpload(length: number): Promise<{ transcript: ReturnType<typeof transcript>; openedAt: number }> {
  const socket = await openConnection(port);
  const seen = transcript(socket);
  socket.write(
    `POST /analyze HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{"text":"`,
  );
  return { transcript: seen, openedAt: performance.now() };
}

describe('hostile input', () => {
  it('refuses a charset other than UTF-8 with 415, and takes UTF-8 spelled either way', async () => {
    const refused = await post('{"text":"caf\u00e9"}', 'application/json; charset=latin1');
    assert.equal(refused.status, 415);
    assert.match(
      ((await refused.json()) as { message: string }).message,
      /charset "latin1" is not supported; send the body as UTF-8/,
    );
    assert.equal((await post('{"text":"fine"}', 'application/json; charset=utf-8')).status, 200);
    assert.equal((await post('{"text":"fine"}', 'application/json; charset="UTF8"')).status, 200);
  });

  it('names prototype keys instead of calling the body invalid JSON', async () => {
    for (const body of ['{"text":"a","__proto__":{"x":1}}', '{"text":"a","constructor":{"prototype":{"x":1}}}']) {
      const response = await post(body);
      assert.equal(response.status, 400);
      assert.match(
        ((await response.json()) as { message: string }).message,
        /must not contain the keys "__proto__" or "constructor\.prototype"/,
      );
    }
    const broken = await post('{"text":');
    assert.equal(broken.status, 400);
    assert.match(((await broken.json()) as { message: string }).message, /not valid JSON/);
  });

  it('sends security headers, and a CSP on /docs that lets the Swagger UI run', async () => {
    const api = await fetch(`${running.url}/healthz`);
    assert.equal(api.headers.get('x-content-type-options'), 'nosniff');
    assert.match(api.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const docs = await fetch(`${running.url}/docs/`);
    assert.equal(docs.status, 200);
    const csp = docs.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /upgrade-insecure-requests/, 'over plain HTTP it would send the assets to https');
    const html = await docs.text();
    // Every script the page runs is one of its own files (script-src 'self'), none inline.
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((match) => match[1] ?? '');
    assert.ok(scripts.length > 0 && scripts.every((attributes) => /src="\.\//.test(attributes)), html);
    for (const [, src] of html.matchAll(/(?:src|href)="\.\/([^"]+)"/g)) {
      assert.equal((await fetch(`${running.url}/docs/${src}`)).status, 200, `the UI's asset ${src} is served`);
    }
  });

  it('answers a stalled upload 408 and closes it within BODY_TIMEOUT_MS (checked every second)', async () => {
    const before = await metricValue(running.url, 'sentiment_rejections_total{reason="body_timeout"}');
    const upload = await stalledUpload(1000);
    const text = await upload.transcript.closed;
    const seconds = (performance.now() - upload.openedAt) / 1000;
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(
      seconds >= bodyTimeoutMs / 1000 - 0.05 && seconds < bodyTimeoutMs / 1000 + 2,
      `closed after ${seconds} s`,
    );
    assert.equal(await metricValue(running.url, 'sentiment_rejections_total{reason="body_timeout"}'), before + 1);
  });

  it('refuses a body that would take the bodies being received past BODY_BUFFER_LIMIT_BYTES, before reading it', async () => {
    const before = await metricValue(running.url, 'sentiment_rejections_total{reason="uploads_full"}');
    const holders = [await stalledUpload(4000), await stalledUpload(4000)];
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = await post(JSON.stringify({ text: 'x'.repeat(300) }));
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.match(((await refused.json()) as { message: string }).message, /bodies being received past 8192 bytes/);
    assert.equal(await metricValue(running.url, 'sentiment_rejections_total{reason="uploads_full"}'), before + 1);
    // Once the stalled ones are closed (408), their reservation is returned.
    for (const holder of holders) assert.match(await holder.transcript.closed, /^HTTP\/1\.1 408 /);
    assert.equal((await post(JSON.stringify({ text: 'x'.repeat(300) }))).status, 200);
  });
});

describe('engine failures', () => {
  it('answer a plain 500 "inference failed" with the request id; the engine message stays in the log', async () => {
    const { model, engine } = await loadRealModel();
    const failing = {
      ...engine,
      kind: engine.kind,
      device: engine.device,
      backend: engine.backend,
      numLabels: engine.numLabels,
      run: () =>
        Promise.reject(new Error('Non-zero status code returned while running Gather node. idx=128 must be within')),
      dispose: () => engine.dispose(),
    };
    const service = await Service.start({ config: testConfig(), model, engine: failing });
    try {
      const response = await service.http.inject({
        method: 'POST',
        url: '/analyze',
        payload: { text: 'fine' },
        headers: { 'x-request-id': 'req-42' },
      });
      assert.equal(response.statusCode, 500);
      assert.deepEqual(response.json(), {
        statusCode: 500,
        error: 'Internal Server Error',
        message: 'inference failed',
        requestId: 'req-42',
      });
      assert.doesNotMatch(response.body, /Gather/);
    } finally {
      await service.close();
    }
  });

  it('a model directory declaring more positions than its graph holds is refused at start-up, naming file and field', async () => {
    const config = testConfig({ ENGINE: 'onnx' });
    const dir = join(scratch, 'too-many-positions');
    linkModelDir(config.modelDir, dir, ['config.json', 'tokenizer_config.json']);
    const modelConfig = JSON.parse(readFileSync(join(config.modelDir, 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const positions = Number(modelConfig.max_position_embeddings);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...modelConfig, max_position_embeddings: positions * 4 }));
    const tokenizerConfig = JSON.parse(readFileSync(join(config.modelDir, 'tokenizer_config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    writeFileSync(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify({ ...tokenizerConfig, model_max_length: positions * 4 }),
    );
    const model = await loadModel(dir, config.dtype, 'onnx');
    await assert.rejects(createEngine(model, config), (error: unknown) => {
      assert.match(
        (error as Error).message,
        new RegExp(
          `maximum length of ${positions * 4} tokens in config\\.json max_position_embeddings \\(${positions * 4}\\), but its graph cannot run a text that long`,
        ),
      );
      return true;
    });
  });

  it('a tokenizer.json that is not a tokenizer is refused, naming the file', () => {
    const config = testConfig();
    const dir = join(scratch, 'broken-tokenizer');
    linkModelDir(config.modelDir, dir, ['tokenizer.json']);
    writeFileSync(join(dir, 'tokenizer.json'), '<html>404</html>');
    assert.throws(() => readModelDir(dir, 'fp32'), /tokenizer\.json is not valid JSON/);
    writeFileSync(join(dir, 'tokenizer.json'), '{"version":"1.0"}');
    assert.throws(() => readModelDir(dir, 'fp32'), /tokenizer\.json has no "model" object/);
  });
});

/** A model directory whose files link to `source`'s, except `own`, which the test writes. */
function linkModelDir(source: string, dir: string, own: string[]): void {
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(source)) {
    if (!own.includes(entry)) symlinkSync(join(source, entry), join(dir, entry));
  }
}
