import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cudaProviderInstalled, onnxRuntimeBinaryDir } from '../src/engine/execution-providers.js';
import { testConfig } from './support/config.js';
import { metricValue } from './support/running-app.js';
import { runUntilExit, startServer } from './support/spawned-server.js';
import { waitUntil } from './support/wait-until.js';
import type { Prediction } from '../src/inference/postprocess.js';

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'server-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('the server process (node dist/src/server.js)', () => {
  it("answers the article's curl command with POSITIVE", { timeout: 60_000 }, async (t) => {
    const server = await startServer({ HOST: '0.0.0.0' });
    try {
      const port = new URL(server.url).port;
      const command = `curl -X POST -H "Content-Type: application/json" -d '{"text":"I love using this product!"}' http://localhost:${port}/analyze`;
      let body: string;
      try {
        body = (await run('sh', ['-c', command])).stdout;
      } catch (error) {
        if ((error as { code?: number }).code !== 127) throw error;
        t.diagnostic('curl is not installed here: the same request is sent with fetch');
        const response = await fetch(`http://localhost:${port}/analyze`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: '{"text":"I love using this product!"}',
        });
        body = await response.text();
      }
      const predictions = JSON.parse(body) as Prediction[];
      assert.equal(predictions.length, 1);
      assert.equal(predictions[0]?.label, 'POSITIVE');
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('on SIGTERM answers every accepted request, then exits 0', { timeout: 60_000 }, async () => {
    // A long MAX_WAIT_MS holds the requests in the queue, so they are surely in flight when the signal comes.
    const server = await startServer({ HOST: '127.0.0.1', MAX_WAIT_MS: '60000', MAX_BATCH_SIZE: '64' });
    const texts = Array.from({ length: 8 }, (_, i) =>
      i % 2 === 0 ? 'I love using this product!' : 'This is the worst purchase I have ever made.',
    );
    const responses = texts.map((text) =>
      fetch(`${server.url}/analyze`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
      }),
    );
    await waitUntil(async () => (await metricValue(server.url, 'sentiment_queue_depth')) === texts.length);
    server.child.kill('SIGTERM');

    for (const [i, pending] of responses.entries()) {
      const response = await pending;
      assert.equal(response.status, 200);
      const [prediction] = (await response.json()) as Prediction[];
      assert.equal(prediction?.label, i % 2 === 0 ? 'POSITIVE' : 'NEGATIVE');
    }
    const exit = await server.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stdout, /"signal":"SIGTERM".*shutting down/);
    assert.match(exit.stdout, /shut down cleanly/);
    await assert.rejects(fetch(`${server.url}/healthz`), 'no new connections after shutdown');
  });

  it('exits 0 on SIGINT too', { timeout: 60_000 }, async () => {
    const server = await startServer({ HOST: '127.0.0.1' });
    server.child.kill('SIGINT');
    assert.equal((await server.exited).code, 0);
  });

  it('exits non-zero, saying why, when MODEL_DIR does not exist', { timeout: 60_000 }, async () => {
    const missing = join(scratch, 'no-such-model');
    const exit = await runUntilExit({ MODEL_DIR: missing });
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, new RegExp(`cannot start: MODEL_DIR ${missing}: directory does not exist`));
  });

  it('exits non-zero, saying which file is missing, when MODEL_DIR lacks the ONNX export', { timeout: 60_000 }, async () => {
    const partial = join(scratch, 'no-onnx');
    cpSync(testConfig().modelDir, partial, { recursive: true, filter: (source) => !source.endsWith('.onnx') });
    const exit = await runUntilExit({ MODEL_DIR: partial });
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, /onnx\/model\.onnx is missing \(selected by DTYPE=fp32\)/);
  });

  it('exits 2 on invalid configuration, naming the variable and the allowed values', { timeout: 60_000 }, async () => {
    const exit = await runUntilExit({ MAX_BATCH_SIZE: '0', DEVICE: 'gpu' }, ['--port', 'http']);
    assert.equal(exit.code, 2);
    assert.match(exit.stderr, /Invalid configuration/);
    assert.match(exit.stderr, /MAX_BATCH_SIZE must be an integer from 1 to 4096; got "0"/);
    assert.match(exit.stderr, /DEVICE must be one of: cpu, cuda; got "gpu"/);
    assert.match(exit.stderr, /--port must be an integer from 0 to 65535; got "http"/);
  });

  it('exits non-zero with DEVICE=cuda when the CUDA provider cannot be used', { timeout: 60_000 }, async (t) => {
    if (cudaProviderInstalled(onnxRuntimeBinaryDir())) {
      t.diagnostic('the CUDA provider is installed here: the server may start on the GPU, so only a refusal is checked for clarity');
    }
    const server = startServer({ HOST: '127.0.0.1', DEVICE: 'cuda' });
    try {
      const started = await server;
      // Only possible where CUDA really works: it then serves on the GPU.
      assert.ok(cudaProviderInstalled(onnxRuntimeBinaryDir()));
      const info = (await (await fetch(`${started.url}/info`)).json()) as { engine: { device: string } };
      assert.equal(info.engine.device, 'cuda');
      started.child.kill('SIGTERM');
      await started.exited;
    } catch (error) {
      assert.match(String(error), /exited \(1\) before listening: sentiment-inference: cannot start: DEVICE=cuda: /);
      if (!cudaProviderInstalled(onnxRuntimeBinaryDir())) assert.match(String(error), /ONNXRUNTIME_NODE_INSTALL=cuda12/);
    }
  });
});
