import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { metricValue, startApp, type RunningApp } from '../../support/running-app.js';
import { waitUntil } from '../../support/wait-until.js';
import type { Prediction } from '../../../src/inference/postprocess.js';

let running: RunningApp;
// The default dtype (int8 on CPU): its activations are quantized per token, so batching changes no score.
before(async () => (running = await startApp()));
after(() => running.service.close());

const phrases = [
  'I love using this product!',
  'This is the worst purchase I have ever made.',
  'a gorgeous, witty, seductive movie',
  'the plot is nothing but boilerplate clichés from start to finish',
  'ok',
  'it is not bad at all, and at times it is even quite charming in its own odd little way',
  'dull',
  'an utterly compelling story, told with grace and a sharp eye for detail that rewards a second viewing',
];
/** Texts of many lengths, so batches mix and group them. */
const texts = Array.from(
  { length: 48 },
  (_, i) => `${phrases[i % phrases.length]}${i % 3 === 0 ? ' ' + phrases[(i + 3) % phrases.length] : ''}`,
);

async function aloneResults(): Promise<Prediction[][]> {
  const results: Prediction[][] = [];
  for (const text of texts)
    results.push((await request(running.url).post('/analyze').send({ text, top_k: 2 }).expect(200)).body);
  return results;
}

function assertSameResults(actual: Prediction[][], expected: Prediction[][]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((predictions, i) => {
    predictions.forEach((prediction, k) => {
      const reference = expected[i]?.[k];
      assert.equal(prediction.label, reference?.label, `text ${i}`);
      assert.ok(
        Math.abs(prediction.score - (reference?.score ?? NaN)) <= 1e-5,
        `text ${i}: ${prediction.score} vs ${reference?.score}`,
      );
    });
  });
}

describe('micro-batching over HTTP (embedded model)', () => {
  it('batches concurrent requests while the engine is busy, and batching changes no result', async () => {
    const expected = await aloneResults();
    const { engine } = running;
    const batchesBefore = engine.batchSizes.length;

    engine.close();
    const first = request(running.url)
      .post('/analyze')
      .send({ text: texts[0], top_k: 2 })
      .then((r) => r);
    await waitUntil(() => engine.waitingBatches === 1);
    const others = texts.slice(1).map((text) =>
      request(running.url)
        .post('/analyze')
        .send({ text, top_k: 2 })
        .then((r) => r),
    );
    await waitUntil(async () => (await metricValue(running.url, 'sentiment_queue_depth')) === texts.length - 1);
    engine.release();
    const responses = [await first, ...(await Promise.all(others))];

    for (const response of responses) assert.equal(response.status, 200);
    assertSameResults(
      responses.map((response) => response.body as Prediction[]),
      expected,
    );
    const sizes = engine.batchSizes.slice(batchesBefore);
    assert.equal(sizes[0], 1, 'the first request ran alone, at once');
    assert.equal(
      sizes.reduce((sum, size) => sum + size, 0),
      texts.length,
    );
    assert.ok(Math.max(...sizes.slice(1)) > 1, `requests that waited were batched together: ${sizes.join(',')}`);
    assert.ok(
      sizes.every((size) => size <= 32),
      'MAX_BATCH_SIZE holds',
    );
  });

  it('groups queued texts by length: a short text is not padded to a long one', async () => {
    const { engine } = running;
    const short = 'fine';
    const long = Array.from({ length: 60 }, () => 'splendid').join(' ');
    const batchesBefore = engine.batches.length;

    engine.close();
    const blocker = request(running.url)
      .post('/analyze')
      .send({ text: short })
      .then((r) => r);
    await waitUntil(() => engine.waitingBatches === 1);
    const mixed = request(running.url)
      .post('/analyze')
      .send({ text: [short, long, short, long] })
      .then((r) => r);
    await waitUntil(async () => (await metricValue(running.url, 'sentiment_queue_depth')) === 4);
    engine.release();
    assert.equal((await blocker).status, 200);
    const response = await mixed;
    assert.equal(response.status, 200);
    assert.equal((response.body as Prediction[]).length, 4);

    const lengths = engine.batches.slice(batchesBefore + 1).map((batch) => batch.map((text) => text.ids.length));
    assert.equal(lengths.length, 2, `short and long texts ran in separate batches: ${JSON.stringify(lengths)}`);
    for (const batch of lengths) assert.equal(new Set(batch).size, 1, 'each batch holds texts of one length');
  });

  it('gives every text the same answer under a burst of concurrent multi-text requests', async () => {
    const expected = await aloneResults();
    const requests = Array.from({ length: 24 }, (_, r) => {
      const indices = Array.from({ length: 1 + (r % 5) }, (_, k) => (r * 7 + k * 11) % texts.length);
      return {
        indices,
        pending: request(running.url)
          .post('/analyze')
          .send({ text: indices.map((i) => texts[i]), top_k: 2 })
          .then((x) => x),
      };
    });
    for (const { indices, pending } of requests) {
      const response = await pending;
      assert.equal(response.status, 200);
      assertSameResults(
        response.body as Prediction[][],
        indices.map((i) => expected[i] as Prediction[]),
      );
    }
  });
});
