import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cudaProviderInstalled, onnxRuntimeBinaryDir } from '../src/engine/onnx/execution-providers.js';
import { testConfig, testEngine } from './support/config.js';
import { metricValue } from './support/running-app.js';
import { analyzeRequest, openConnection, requestOnNewConnection, transcript } from './support/raw-http.js';
import { runUntilExit, startServer } from './support/spawned-server.js';
import { waitUntil } from './support/wait-until.js';
import type { Prediction } from '../src/inference/postprocess.js';

const run = promisify(execFile);

function packageInstalled(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}
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
    // A long MAX_WAIT_MS holds the requests in the queue, so they are surely in flight when the signal comes; with
    // length grouping off they all fit one batch, so none of them is run before it.
    const server = await startServer({
      HOST: '127.0.0.1',
      MAX_WAIT_MS: '60000',
      MAX_BATCH_SIZE: '64',
      MAX_PADDING_RATIO: '1',
    });
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

  it('on SIGTERM keeps listening until drained: no connection is reset, new requests get 503, accepted ones 200, exit 0', {
    timeout: 120_000,
  }, async (t) => {
    // MAX_WAIT_MS holds the burst in the queue until the signal (length grouping off, so it is one batch that
    // nothing completes early); generous timeouts keep a loaded machine from turning a slow drain into 504s or exit 1.
    const server = await startServer({
      HOST: '127.0.0.1',
      MAX_WAIT_MS: '60000',
      MAX_BATCH_SIZE: '64',
      MAX_PADDING_RATIO: '1',
      SHUTDOWN_TIMEOUT_MS: '90000',
      REQUEST_TIMEOUT_MS: '90000',
      BODY_TIMEOUT_MS: '90000',
    });
    // A failing assertion must not leave the server (held open by the test's own connections) behind.
    t.after(() => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    });
    const port = Number(new URL(server.url).port);
    const positive = 'I love using this product!';
    const negative = 'This is the worst purchase I have ever made.';

    // Two keep-alive connections that served a request before the signal: one stays idle, one is reused during the drain.
    const keepAlive = async () => {
      const socket = await openConnection(port);
      const record = transcript(socket);
      socket.write('GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n');
      await record.until(/\{"status":"ok"\}$/);
      return { socket, record };
    };
    const idle = await keepAlive();
    const reused = await keepAlive();

    // The gate: a request whose headers the server has routed (it answered 100 Continue) but whose body the test
    // holds back, sending a byte of leading whitespace now and then: a slow client, not a stalled one (those the
    // drain cuts). It was accepted before the signal, so the drain, and with it the listener, lasts until it is answered.
    const held = await openConnection(port);
    const heldRecord = transcript(held);
    const padding = 1000;
    const heldBody = JSON.stringify({ text: negative });
    held.write(
      'POST /analyze HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n' +
        `Content-Length: ${padding + Buffer.byteLength(heldBody)}\r\n\r\n`,
    );
    await heldRecord.until(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    let trickled = 0;
    const trickle = setInterval(() => {
      if (trickled >= padding) return;
      trickled += 1;
      held.write(' ');
    }, 200);
    t.after(() => clearInterval(trickle));

    const texts = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? positive : negative));
    const burst = texts.map((text) => requestOnNewConnection(`${server.url}/analyze`, 'POST', { text }));
    await waitUntil(async () => (await metricValue(server.url, 'sentiment_queue_depth')) === texts.length);
    server.child.kill('SIGTERM');

    for (const [i, pending] of burst.entries()) {
      const answer = await pending;
      assert.equal(answer.status, 200, answer.body);
      assert.equal(answer.headers.connection, 'close');
      const [prediction] = JSON.parse(answer.body) as Prediction[];
      assert.equal(prediction?.label, texts[i] === positive ? 'POSITIVE' : 'NEGATIVE');
    }

    // Draining: readiness says so, and every request on a new connection is refused at once, cleanly.
    await waitUntil(async () => (await requestOnNewConnection(`${server.url}/readyz`, 'GET')).status === 503);
    const refused = await Promise.all(
      Array.from({ length: 16 }, () => requestOnNewConnection(`${server.url}/analyze`, 'POST', { text: positive })),
    );
    for (const answer of refused) {
      assert.equal(answer.status, 503, answer.body);
      assert.equal(answer.headers['retry-after'], '1');
      assert.equal(answer.headers.connection, 'close');
      assert.equal((JSON.parse(answer.body) as { statusCode: number }).statusCode, 503);
    }
    // So is a request on a connection opened before the signal, which the server then closes.
    const { head, body } = analyzeRequest(positive);
    reused.socket.write(head + body);
    const onReused = (await reused.record.closed).split('{"status":"ok"}')[1] ?? '';
    assert.match(onReused, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(onReused, /\r\nretry-after: 1\r\n/i);
    assert.match(onReused, /\r\nconnection: close\r\n/i);
    const drainingRejections = await requestOnNewConnection(`${server.url}/metrics`, 'GET');
    assert.match(drainingRejections.body, /^sentiment_rejections_total\{reason="draining"\} 17$/m);
    assert.equal(server.child.exitCode, null, 'still running while an accepted request is unanswered');

    // A client that has connected but not yet sent its request when the last accepted one is answered.
    const late = await openConnection(port);
    const lateRecord = transcript(late);
    clearInterval(trickle);
    held.write(' '.repeat(padding - trickled) + heldBody);
    const heldAnswer = await heldRecord.closed;
    assert.match(
      heldAnswer,
      /HTTP\/1\.1 200 OK\r\n[^]*connection: close\r\n[^]*\[\{"label":"NEGATIVE","score":[\d.e-]+\}\]$/i,
    );
    // Everything accepted is answered, yet the server waits for that request (SHUTDOWN_TIMEOUT_MS / 2 at most)
    // rather than reset it, and refuses it.
    const lateRequest = analyzeRequest(positive);
    late.write(lateRequest.head + lateRequest.body);
    const lateAnswer = await lateRecord.closed;
    assert.match(lateAnswer, /^HTTP\/1\.1 503 Service Unavailable\r\n[^]*retry-after: 1\r\n/i);

    const exit = await server.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stdout, /shut down cleanly/);
    // The idle keep-alive connection was closed by the server (no reset, nothing written on it).
    assert.match(await idle.record.closed, /\{"status":"ok"\}$/);
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

  it(`exits non-zero, saying which file is missing, when MODEL_DIR lacks the file ENGINE=${testEngine} loads`, {
    timeout: 60_000,
  }, async () => {
    const partial = join(scratch, 'no-weights');
    const weights = testEngine === 'tfjs' ? '.safetensors' : '.onnx';
    cpSync(testConfig().modelDir, partial, { recursive: true, filter: (source) => !source.endsWith(weights) });
    const exit = await runUntilExit({ MODEL_DIR: partial });
    assert.equal(exit.code, 1);
    assert.match(
      exit.stderr,
      testEngine === 'tfjs'
        ? /model\.safetensors is missing \(ENGINE=tfjs loads/
        : /onnx\/model\.onnx is missing \(DTYPE=auto on CPU: the model directory has no onnx\/model_quantized\.onnx, so float32\)/,
    );
  });

  it('exits 2 on invalid configuration, naming the variable and the allowed values', { timeout: 60_000 }, async () => {
    const exit = await runUntilExit({ MAX_BATCH_SIZE: '0', DEVICE: 'gpu' }, ['--port', 'http']);
    assert.equal(exit.code, 2);
    assert.match(exit.stderr, /Invalid configuration/);
    assert.match(exit.stderr, /MAX_BATCH_SIZE must be an integer from 1 to 4096; got "0"/);
    assert.match(exit.stderr, /DEVICE must be one of: cpu, cuda; got "gpu"/);
    assert.match(exit.stderr, /--port must be an integer from 0 to 65535; got "http"/);
  });

  it(`exits non-zero with DEVICE=cuda when ENGINE=${testEngine} cannot use a GPU`, { timeout: 60_000 }, async (t) => {
    // ONNX Runtime needs its CUDA provider binaries; TensorFlow.js needs tfjs-node-gpu, a visible GPU and CUDA 11.2.
    const gpuRuntimeInstalled =
      testEngine === 'onnx'
        ? cudaProviderInstalled(onnxRuntimeBinaryDir())
        : packageInstalled('@tensorflow/tfjs-node-gpu');
    if (gpuRuntimeInstalled) {
      t.diagnostic(
        'a GPU runtime is installed here: the server may start on the GPU, so only a refusal is checked for clarity',
      );
    }
    const server = startServer({ HOST: '127.0.0.1', DEVICE: 'cuda' });
    try {
      const started = await server;
      // Only possible where CUDA really works: it then serves on the GPU.
      assert.ok(gpuRuntimeInstalled);
      const info = (await (await fetch(`${started.url}/info`)).json()) as { engine: { device: string } };
      assert.equal(info.engine.device, 'cuda');
      started.child.kill('SIGTERM');
      await started.exited;
    } catch (error) {
      if (testEngine === 'onnx') {
        assert.match(String(error), /exited \(1\) before listening: sentiment-inference: cannot start: DEVICE=cuda: /);
        if (!gpuRuntimeInstalled) assert.match(String(error), /Dockerfile\.gpu/);
      } else {
        assert.match(
          String(error),
          /exited \(1\) before listening: sentiment-inference: cannot start: DEVICE=cuda with ENGINE=tfjs: tfjs-node-gpu: /,
        );
        if (!gpuRuntimeInstalled)
          assert.match(
            String(error),
            /tfjs-node-gpu: (no NVIDIA GPU is visible|@tensorflow\/tfjs-node-gpu is not installed)/,
          );
      }
    }
  });
});
