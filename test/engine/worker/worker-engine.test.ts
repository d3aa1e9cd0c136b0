import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { after, before, describe, it } from 'node:test';
import { createEngine } from '../../../src/engine/create-engine.js';
import type { Engine } from '../../../src/engine/engine.js';
import type { EngineThreadConfig } from '../../../src/engine/worker/engine-thread-protocol.js';
import { cudaProviderInstalled, onnxRuntimeBinaryDir } from '../../../src/engine/onnx/execution-providers.js';
import { DeviceUnavailableError } from '../../../src/engine/gpu-device.js';
import { createWorkerEngine } from '../../../src/engine/worker/worker-engine.js';
import { WorkerThreadExitedError } from '../../../src/worker-pool/worker-pool.js';
import { loadModel, type Model } from '../../../src/model/model.js';
import { testConfig } from '../../support/config.js';
import { engineSentences } from '../../support/engine-sentences.js';
import { packBatch, unpackBatch } from '../../../src/engine/packed-batch.js';

const sentences = engineSentences;

const config = testConfig({ ENGINE: 'onnx' });
const threadConfig = (overrides: Partial<EngineThreadConfig> = {}): EngineThreadConfig => ({
  modelDir: config.modelDir,
  dtype: 'fp32',
  engine: 'onnx',
  device: 'cpu',
  intraOpThreads: 1,
  interOpThreads: undefined,
  tfjsBackend: 'auto',
  ...overrides,
});

let model: Model;
let inThread: Engine;
let workers: Engine;
before(async () => {
  model = await loadModel(config.modelDir, 'fp32', 'onnx');
  inThread = await createEngine(model, { ...config, intraOpThreads: 1 });
  workers = await createWorkerEngine(threadConfig(), 2);
});
after(async () => {
  await inThread.dispose();
  await workers.dispose();
});

const encode = (texts: readonly string[]) => texts.map((text, index) => model.tokenizer.encode(text, index, true));

describe('engine thread protocol', () => {
  it('packs a batch into flat buffers and unpacks the same texts', () => {
    const batch = encode(sentences);
    const packed = packBatch(batch);
    assert.deepEqual(
      Array.from(packed.lengths),
      batch.map((text) => text.ids.length),
    );
    assert.equal(
      packed.ids.length,
      batch.reduce((sum, text) => sum + text.ids.length, 0),
    );
    assert.deepEqual(
      unpackBatch(packed),
      batch.map((text) => ({ ids: [...text.ids], typeIds: text.typeIds && [...text.typeIds] })),
    );
  });

  it('carries no segment ids when a text has none', () => {
    const packed = packBatch([{ ids: [2, 5, 3], typeIds: undefined }]);
    assert.equal(packed.typeIds, undefined);
    assert.deepEqual(unpackBatch(packed), [{ ids: [2, 5, 3], typeIds: undefined }]);
  });
});

describe('worker engine (embedded model on engine threads)', () => {
  it('describes itself like the engine it runs, with its number of instances', () => {
    assert.equal(workers.kind, 'onnx');
    assert.equal(workers.device, 'cpu');
    assert.equal(workers.backend, inThread.backend);
    assert.equal(workers.numLabels, 2);
    assert.equal(workers.instances, 2);
    assert.equal(workers.failure, undefined);
  });

  it('gives the logits the same engine gives on the calling thread', async () => {
    const batch = encode(sentences);
    const [fromWorkers, local] = await Promise.all([workers.run(packBatch(batch)), inThread.run(packBatch(batch))]);
    assert.equal(fromWorkers.length, sentences.length * 2);
    const difference = Math.max(...Array.from(fromWorkers, (value, i) => Math.abs(value - (local[i] as number))));
    assert.ok(difference < 1e-5, `max difference ${difference}`);
  });

  it('transfers the packed batch to its thread as it is, without a copy', async () => {
    const packed = packBatch(encode(sentences.slice(0, 2)));
    const logits = await workers.run(packed);
    assert.equal(logits.length, 4);
    assert.equal(packed.ids.byteLength, 0, 'the ids buffer moved to the engine thread (detached here)');
    assert.equal(packed.lengths.byteLength, 0);
  });

  it('answers each of several batches sent at once with its own logits', async () => {
    const batches = [encode(sentences.slice(0, 2)), encode(sentences.slice(2)), encode([sentences[0] as string])];
    const alone = await Promise.all(batches.map((batch) => inThread.run(packBatch(batch))));
    const together = await Promise.all(batches.map((batch) => workers.run(packBatch(batch))));
    together.forEach((logits, i) => {
      assert.equal(logits.length, (batches[i] as unknown[]).length * 2);
      Array.from(logits).forEach((value, j) =>
        assert.ok(Math.abs(value - ((alone[i] as Float32Array)[j] as number)) < 1e-5),
      );
    });
  });

  it('reports a start-up failure with its cause, and keeps a device error recognisable', async () => {
    // Crossing the worker boundary by code: the error keeps its code and class name, not only its message.
    await assert.rejects(createWorkerEngine(threadConfig({ modelDir: '/nonexistent/model' }), 1), {
      code: 'SENTIMENT_MODEL_DIR',
      name: 'ModelDirError',
      message: /\/nonexistent\/model/,
    });
    if (!cudaProviderInstalled(onnxRuntimeBinaryDir())) {
      await assert.rejects(createWorkerEngine(threadConfig({ device: 'cuda' }), 1), DeviceUnavailableError);
    }
  });
});

describe('worker engine with two instances', () => {
  const timed = new URL('../../support/timed-engine-thread.js', import.meta.url);

  it('computes two batches at the same time, one on each thread', async () => {
    const holdMs = 300;
    const config = { ...threadConfig(), base: Date.now(), holdMs } as EngineThreadConfig;
    const engine = await createWorkerEngine(config, 2, timed);
    try {
      const batch = [
        { ids: [2, 3], typeIds: undefined },
        { ids: [2, 4], typeIds: undefined },
      ];
      const [a, b] = (await Promise.all([engine.run(packBatch(batch)), engine.run(packBatch(batch))])).map((logits) =>
        Array.from(logits),
      );
      const [threadA, startA, endA] = a as [number, number, number];
      const [threadB, startB, endB] = b as [number, number, number];
      assert.notEqual(threadA, threadB, 'each batch went to its own engine thread');
      assert.ok(endA - startA >= holdMs - 5 && endB - startB >= holdMs - 5, 'each batch held its thread');
      assert.ok(
        startA < endB && startB < endA,
        `the two batches overlapped: [${startA}, ${endA}] and [${startB}, ${endB}]`,
      );
    } finally {
      await engine.dispose();
    }
  });
});

describe('worker engine when an engine thread dies', () => {
  const crashing = new URL('../../support/crashing-engine-thread.js', import.meta.url);
  const batch = [{ ids: [2, 3], typeIds: undefined }];

  it('fails the batch in flight once, replaces the thread, and runs later batches on the replacement', async () => {
    const engine = await createWorkerEngine(threadConfig(), 1, crashing);
    try {
      assert.equal((await engine.run(packBatch(batch))).length, 2);
      await assert.rejects(engine.run(packBatch(batch)), (error: Error) => {
        assert.ok(error instanceof WorkerThreadExitedError);
        assert.match(error.message, /an engine thread stopped: exit code 3/);
        return true;
      });
      // Sent while the only thread is gone: answered by its replacement.
      assert.equal((await engine.run(packBatch(batch))).length, 2);
      assert.equal(engine.failure, undefined);
    } finally {
      await engine.dispose();
    }
  });

  it('reports a failure (liveness) once a replacement dies before answering anything', async () => {
    // This stand-in dies on its first batch, every time: replacing it cannot help.
    const engine = await createWorkerEngine({ ...threadConfig(), crashOnRun: 1 } as EngineThreadConfig, 1, crashing);
    try {
      await assert.rejects(engine.run(packBatch(batch)), WorkerThreadExitedError);
      assert.equal(engine.failure, undefined, 'the first death is replaced');
      await assert.rejects(engine.run(packBatch(batch)), WorkerThreadExitedError);
      // Read afresh: the check above narrowed engine.failure for the compiler, not at run time.
      assert.ok((engine as Engine).failure instanceof WorkerThreadExitedError);
      await assert.rejects(engine.run(packBatch(batch)), WorkerThreadExitedError);
    } finally {
      await engine.dispose();
    }
  });

  it('survives a real engine thread killed with a batch in flight: that batch fails, the next gets the same logits', async () => {
    const spawned: Worker[] = [];
    let dieAtNextJob = false;
    const engine = await createWorkerEngine(threadConfig(), 1, undefined, (script, workerData) => {
      const worker = new Worker(script, { workerData });
      // The thread stops as the batch is handed to it, not while ONNX Runtime computes: Worker.terminate() during a
      // native run can abort the whole process (docs/ARCHITECTURE.md), which no test should risk.
      const post = worker.postMessage.bind(worker);
      worker.postMessage = (message: { type?: string }, transfer?: readonly ArrayBuffer[]) => {
        if (message.type === 'job' && dieAtNextJob) {
          dieAtNextJob = false;
          void worker.terminate();
        } else post(message, transfer);
      };
      spawned.push(worker);
      return worker;
    });
    try {
      const texts = encode(sentences);
      const expected = await engine.run(packBatch(texts));
      dieAtNextJob = true;
      const inFlight = engine.run(packBatch(texts));
      await assert.rejects(inFlight, WorkerThreadExitedError);
      assert.deepEqual(await engine.run(packBatch(texts)), expected);
      assert.equal(spawned.length, 2);
      assert.equal(engine.failure, undefined);
    } finally {
      await engine.dispose();
    }
  });

  it('is not a failure when dispose() stops the threads', async () => {
    const engine = await createWorkerEngine(threadConfig(), 1);
    await engine.dispose();
    assert.equal(engine.failure, undefined);
    await assert.rejects(engine.run(packBatch(batch)), /disposed/);
  });
});
