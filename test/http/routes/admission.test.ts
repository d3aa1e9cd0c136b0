import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricValue, startApp } from '../../support/running-app.js';
import { waitUntil } from '../../support/wait-until.js';
import type { Prediction } from '../../../src/inference/postprocess.js';

function analyze(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/analyze`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('admission before work', () => {
  it('counts a request against the queue before tokenizing it: refused with 429, not tokenized (no 422)', async () => {
    const { service, url, engine } = await startApp({
      MAX_QUEUE: '4',
      MAX_TEXTS_PER_REQUEST: '4',
      ADMISSION_WAIT_MS: '0',
    });
    try {
      engine.close();
      const running = analyze(url, { text: 'I love using this product!' });
      await waitUntil(() => engine.waitingBatches === 1);
      const queued = analyze(url, { text: ['good', 'bad', 'fine'] });
      await waitUntil(async () => (await metricValue(url, 'sentiment_queue_depth')) === 3);
      // One text would fit, two do not: refused at admission. Tokenized, the over-long one would have been a 422.
      const refused = await analyze(url, { text: ['fine', 'fine '.repeat(5000)], truncate: false });
      assert.equal(refused.status, 429);
      assert.match(
        ((await refused.json()) as { message: string }).message,
        /3 texts waiting, 2 more requested, the queue holds 4/,
      );
      engine.release();
      assert.equal((await running).status, 200);
      assert.equal((await queued).status, 200);
    } finally {
      await service.close();
    }
  });

  it('holds a request while the queue is full, before reading its body, and lets it in once there is room', async () => {
    const { service, url, engine } = await startApp({
      MAX_QUEUE: '2',
      MAX_TEXTS_PER_REQUEST: '2',
      ADMISSION_WAIT_MS: '10000',
    });
    try {
      engine.close();
      const running = analyze(url, { text: ['I love using this product!'] });
      await waitUntil(() => engine.waitingBatches === 1);
      const queued = analyze(url, { text: ['good', 'bad'] });
      await waitUntil(async () => (await metricValue(url, 'sentiment_queue_depth')) === 2);
      const waiting = analyze(url, { text: 'This is the worst purchase I have ever made.' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await metricValue(url, 'sentiment_rejections_total{reason="queue_full"}'), 0, 'held, not refused');
      engine.release();
      const answer = await waiting;
      assert.equal(answer.status, 200);
      assert.equal(((await answer.json()) as Prediction[])[0]?.label, 'NEGATIVE');
      assert.equal((await running).status, 200);
      assert.equal((await queued).status, 200);
    } finally {
      await service.close();
    }
  });

  it('refuses after ADMISSION_WAIT_MS when no room frees up, with Retry-After', async () => {
    const { service, url, engine } = await startApp({
      MAX_QUEUE: '1',
      MAX_TEXTS_PER_REQUEST: '1',
      ADMISSION_WAIT_MS: '300',
    });
    try {
      engine.close();
      const running = analyze(url, { text: 'fine' });
      await waitUntil(() => engine.waitingBatches === 1);
      const queued = analyze(url, { text: 'fine' });
      await waitUntil(async () => (await metricValue(url, 'sentiment_queue_depth')) === 1);
      const started = performance.now();
      const refused = await analyze(url, { text: 'fine' });
      const waitedMs = performance.now() - started;
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.ok(waitedMs >= 250, `refused after ${waitedMs} ms`);
      engine.release();
      assert.equal((await running).status, 200);
      assert.equal((await queued).status, 200);
    } finally {
      await service.close();
    }
  });
});
