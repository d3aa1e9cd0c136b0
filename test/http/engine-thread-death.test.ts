import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { after, before, describe, it } from 'node:test';
import type { PackedBatch } from '../../src/engine/packed-batch.js';
import { createWorkerEngine } from '../../src/engine/worker/worker-engine.js';
import { loadModel } from '../../src/model/model.js';
import { Service } from '../../src/service.js';
import type { ToPoolThread } from '../../src/worker-pool/pool-protocol.js';
import { testConfig } from '../support/config.js';
import { waitUntil } from '../support/wait-until.js';

// An engine thread that dies under load, seen from HTTP: the server on the real model, its batches on two real engine
// threads. The test holds the threads through createWorkerEngine's spawn parameter (what no setting reaches) and
// kills the first at its first batch: every batch sent to it from then on dies with it, as a runtime that crashes
// mid-batch loses what it held.

const config = testConfig({ ENGINE: 'onnx', DTYPE: 'fp32', MAX_BATCH_SIZE: '2', MAX_WAIT_MS: '0' });
const texts = Array.from({ length: 12 }, (_, i) =>
  i % 2 === 0 ? `I love using this product! (${i})` : `This is the worst purchase I have ever made. (${i})`,
);

/** A real engine thread whose batches the test counts, and which it can turn into one that dies at its next batch. */
class WatchedThread {
  /** Texts of the batches sent to it: those that ran, or those lost with it. */
  texts = 0;
  ready = false;
  dieAtNextBatch = false;
  readonly worker: Worker;

  constructor(script: URL, workerData: unknown) {
    this.worker = new Worker(script, { workerData });
    this.worker.once('message', () => (this.ready = true));
    const post = this.worker.postMessage.bind(this.worker);
    this.worker.postMessage = (message: ToPoolThread<PackedBatch>, transfer?: readonly ArrayBuffer[]) => {
      if (message.type === 'job') this.texts += message.job.lengths.length;
      // The batch is lost with the thread: never posted, and the thread stops while the pool waits for its answer.
      if (message.type === 'job' && this.dieAtNextBatch) void this.worker.terminate();
      else post(message, transfer);
    };
  }
}

let threads: WatchedThread[];
let service: Service;
let url: string;

before(async () => {
  threads = [];
  const model = await loadModel(config.modelDir, config.dtype, config.engine);
  const engine = await createWorkerEngine({ ...config, intraOpThreads: 1 }, 2, undefined, (script, workerData) => {
    const thread = new WatchedThread(script, workerData);
    threads.push(thread);
    return thread.worker;
  });
  service = await Service.start({ config, model, engine });
  url = await service.listen({ port: 0, host: '127.0.0.1' });
});
after(() => service.close());

function analyze(text: string): Promise<Response> {
  return fetch(`${url}/analyze`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  });
}

describe('an engine thread that dies under load', () => {
  it('fails the requests it held with one JSON 500 each; the others and later ones are answered', async () => {
    const [dying, surviving] = threads;
    assert.ok(dying && surviving, 'two engine threads');
    dying.dieAtNextBatch = true;

    const responses = await Promise.all(texts.map(analyze));
    const failed = responses.filter((response) => response.status === 500);
    assert.ok(dying.texts > 0, 'the dying thread was sent a batch');
    assert.equal(failed.length, dying.texts, 'exactly the texts lost with the thread fail');
    assert.equal(responses.length - failed.length, surviving.texts, 'the rest ran on the other thread');
    for (const response of failed) {
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
      const body = (await response.json()) as { statusCode: number; message: string };
      assert.equal(body.statusCode, 500);
      assert.equal(body.message, 'inference failed');
    }
    for (const response of responses.filter((r) => r.status === 200)) {
      assert.match(((await response.json()) as { label: string }[])[0]?.label ?? '', /^(POSITIVE|NEGATIVE)$/);
    }

    // The pool replaces the thread; the service stays alive and ready, and answers everything again.
    await waitUntil(() => threads.length === 3 && threads[2]?.ready === true);
    const replacement = threads[2] as WatchedThread;
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    const later = await Promise.all(texts.map(analyze));
    assert.deepEqual(
      later.map((response) => response.status),
      texts.map(() => 200),
    );
    const labels = await Promise.all(
      later.map(async (response) => ((await response.json()) as { label: string }[])[0]?.label),
    );
    assert.deepEqual(
      labels,
      texts.map((_, i) => (i % 2 === 0 ? 'POSITIVE' : 'NEGATIVE')),
    );
    assert.ok(replacement.texts > 0, 'the replacement thread ran some of them');
  });
});
