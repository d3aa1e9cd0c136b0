import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEngine } from '../../../src/engine/create-engine.js';
import type { Config } from '../../../src/config/config.js';
import type { Engine, RunContext } from '../../../src/engine/engine.js';
import type { PackedBatch } from '../../../src/engine/packed-batch.js';
import type { Prediction } from '../../../src/inference/postprocess.js';
import { Classifier } from '../../../src/inference/classifier.js';
import { loadModel, type Model } from '../../../src/model/model.js';
import { readDevSet } from '../../../scripts/sst2-dev.js';
import { testConfig } from '../../support/config.js';
import { runUntilExit, startServer } from '../../support/spawned-server.js';
import { launchTriton, startTriton, tritonStartMs, type TritonProcess } from '../../support/triton-process.js';
import { waitUntil } from '../../support/wait-until.js';

// ENGINE=remote against a real Triton Inference Server started as `npm run triton` starts it: the same labels and
// scores as the in-process engine, start-up refusals that name both sides, and a model server that dies under load.

const modelName = 'sst2-minilm-l6';

describe('ENGINE=remote against Triton', { timeout: tritonStartMs + 300_000 }, () => {
  let triton: TritonProcess;
  let url: string;
  before(async () => {
    triton = await startTriton();
    url = `grpc://${triton.grpcAddress}`;
  });
  after(async () => {
    await triton?.stop();
  });

  it('gives the in-process engine’s labels on every SST-2 dev sentence, scores within 1e-4 (fp32)', async () => {
    const texts = readDevSet().map((row) => row.text);
    const local = testConfig({ ENGINE: 'onnx', MAX_QUEUE: '2048' });
    const remote = testConfig({ ENGINE: 'remote', REMOTE_ENGINE_URL: url, MAX_QUEUE: '2048' });
    const model = await loadModel(local.modelDir, 'fp32', 'onnx');
    const results = [];
    for (const config of [local, remote]) {
      const engine: Engine = await createEngine(model, config);
      const classifier = new Classifier(model, engine, config);
      try {
        results.push(await classifier.classify(texts, { truncate: true, topK: model.labels.length }));
      } finally {
        await classifier.close();
      }
    }
    const [inProcess, overTheWire] = results as [(typeof results)[0], (typeof results)[0]];
    let largest = 0;
    texts.forEach((_, index) => {
      const [a, b] = [inProcess[index], overTheWire[index]];
      assert.equal(b?.[0]?.label, a?.[0]?.label, `sentence ${index}: label`);
      for (const prediction of a ?? []) {
        const other = b?.find((p) => p.label === prediction.label);
        largest = Math.max(largest, Math.abs((other?.score ?? NaN) - prediction.score));
      }
    });
    assert.equal(overTheWire.length, texts.length);
    assert.ok(largest < 1e-4, `largest |Δ score| ${largest}`);
  });

  it('with BATCH_SHAPES, sends only configured shapes and still gives the in-process labels', async () => {
    const texts = readDevSet()
      .slice(0, 200)
      .map((row) => row.text);
    const shapes = { BATCH_SHAPES: '1x64,8x64,8x128,4x512', MAX_BATCH_TOKENS: '2048' };
    const local = testConfig({ ENGINE: 'onnx' });
    const remote = testConfig({ ENGINE: 'remote', REMOTE_ENGINE_URL: url, ...shapes });
    const model = await loadModel(local.modelDir, 'fp32', 'onnx');
    const expected = await classifyAll(model, await createEngine(model, local), local, texts);
    const engine = await createEngine(model, remote);
    const sent: string[] = [];
    const recording: Engine = Object.create(engine, {
      run: {
        value: (batch: PackedBatch, context?: RunContext) => {
          sent.push(batch.shape === undefined ? 'none' : `${batch.shape.rows}x${batch.shape.columns}`);
          return engine.run(batch, context);
        },
      },
    });
    const actual = await classifyAll(model, recording, remote, texts);
    assert.deepEqual(
      actual.map((row) => row[0]?.label),
      expected.map((row) => row[0]?.label),
    );
    assert.ok(sent.length > 0);
    assert.deepEqual(
      [...new Set(sent)].filter((shape) => !shapes.BATCH_SHAPES.split(',').includes(shape)),
      [],
    );
  });

  it('exits 1 when REMOTE_MODEL is not served, naming the setting, the server and the model directory', async () => {
    const exit = await runUntilExit({ ENGINE: 'remote', REMOTE_ENGINE_URL: url, REMOTE_MODEL: 'no-such-model' });
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, new RegExp(`REMOTE_MODEL=no-such-model: the model server at ${url} does not serve it`));
    assert.match(exit.stderr, new RegExp(`expects its model '${modelName}' there`));
  });

  it('exits 1 on a shape mismatch (label count, largest batch), naming both sides', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remote-labels-'));
    try {
      const source = testConfig().modelDir;
      for (const file of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt']) {
        copyFileSync(join(source, file), join(dir, file));
      }
      const config = JSON.parse(readFileSync(join(source, 'config.json'), 'utf8')) as Record<string, unknown>;
      config.id2label = { 0: 'NEGATIVE', 1: 'NEUTRAL', 2: 'POSITIVE' };
      writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
      const labels = await runUntilExit({
        ENGINE: 'remote',
        REMOTE_ENGINE_URL: url,
        REMOTE_MODEL: modelName,
        MODEL_DIR: dir,
      });
      assert.equal(labels.code, 1);
      assert.match(labels.stderr, /answers 'logits' FP32 \[-1, 2\], 2 logits per text/);
      assert.match(labels.stderr, /has 3 labels \(NEGATIVE, NEUTRAL, POSITIVE\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const batch = await runUntilExit({ ENGINE: 'remote', REMOTE_ENGINE_URL: url, MAX_BATCH_SIZE: '4096' });
    assert.equal(batch.code, 1);
    assert.match(
      batch.stderr,
      /takes batches of at most \d+ \(max_batch_size\); the service sends up to 4096 \(MAX_BATCH_SIZE\)/,
    );
  });
});

/**
 * SIGKILL to the server and its Python backend stubs at once, as when its container dies: stubs left behind would
 * keep running, and keep this process's pipes to them open.
 */
async function classifyAll(model: Model, engine: Engine, config: Config, texts: string[]): Promise<Prediction[][]> {
  const classifier = new Classifier(model, engine, config);
  try {
    return await classifier.classify(texts, { truncate: true, topK: model.labels.length });
  } finally {
    await classifier.close();
  }
}

interface Answer {
  sentAt: number;
  at: number;
  status: number;
  retryAfter: string | null;
}

describe('ENGINE=remote when Triton dies under load', { timeout: tritonStartMs + 300_000 }, () => {
  it('answers 503 with Retry-After within 5 s, /readyz 503, no crash; 200 again within 10 s of a restart', async (t) => {
    let triton: TritonProcess | undefined = await startTriton();
    const port = triton.grpcAddress.split(':')[1] as string;
    const server = await startServer({
      ENGINE: 'remote',
      REMOTE_ENGINE_URL: `grpc://${triton.grpcAddress}`,
    });
    const answers: Answer[] = [];
    let loading = true;
    const client = async (): Promise<void> => {
      while (loading) {
        const sentAt = performance.now();
        const response = await fetch(`${server.url}/analyze`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: 'a quietly moving film' }),
        });
        await response.arrayBuffer();
        answers.push({
          sentAt,
          at: performance.now(),
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
        });
        // Refusals come back at once; a short pause keeps the loop from spinning on them.
        if (response.status !== 200) await sleep(20);
      }
    };
    const clients = Array.from({ length: 16 }, client);
    let restarted: ReturnType<typeof launchTriton> | undefined;
    try {
      await waitUntil(() => answers.filter((a) => a.status === 200).length >= 50, 20);
      const killedAt = performance.now();
      await triton.kill();
      triton = undefined;
      await waitUntil(() => answers.some((a) => a.at > killedAt && a.status === 503), 20, 5000);
      const refused = answers.find((a) => a.at > killedAt && a.status === 503) as Answer;
      assert.ok(refused.at - killedAt <= 5000, `first 503 after ${refused.at - killedAt} ms`);
      t.diagnostic(`first 503 ${(refused.at - killedAt).toFixed(0)} ms after the kill`);
      assert.equal(refused.retryAfter, '1');
      assert.ok(answers.filter((a) => a.at > killedAt && a.status === 503).every((a) => a.retryAfter !== null));
      await waitUntil(
        async () => (await fetch(`${server.url}/readyz`)).status === 503,
        50,
        Math.max(0, killedAt + 5000 - performance.now()),
      );
      assert.deepEqual(await (await fetch(`${server.url}/readyz`)).json(), { status: 'engine unavailable' });
      // Liveness holds: restarting the service would not bring the model server back.
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      assert.ok(answers.filter((a) => a.at > killedAt).every((a) => a.status === 200 || a.status === 503));

      const restartedAt = performance.now();
      restarted = launchTriton({ TRITON_GRPC_PORT: port });
      await waitUntil(() => answers.some((a) => a.sentAt > restartedAt && a.status === 200), 20, 10_000);
      const back = answers.find((a) => a.sentAt > restartedAt && a.status === 200) as Answer;
      assert.ok(back.at - restartedAt <= 10_000, `first 200 ${back.at - restartedAt} ms after the restart`);
      t.diagnostic(`first 200 ${(back.at - restartedAt).toFixed(0)} ms after the restart began`);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      // Nothing waited on the dead server: every answer came well within REQUEST_TIMEOUT_MS.
      assert.ok(
        answers.every((a) => a.at - a.sentAt < 5000),
        `slowest ${Math.max(...answers.map((a) => a.at - a.sentAt))} ms`,
      );
    } finally {
      loading = false;
      await Promise.allSettled(clients);
      server.child.kill('SIGTERM');
      await server.exited;
      await restarted?.stop();
      await triton?.stop();
    }
    assert.equal((await server.exited).code, 0, 'the service shut down cleanly, never crashed');
  });
});
