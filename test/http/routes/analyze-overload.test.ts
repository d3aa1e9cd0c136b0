import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import request from 'supertest';
import { Classifier } from '../../../src/inference/classifier.js';
import { Inference } from '../../../src/inference/inference.js';
import { ServiceMetrics } from '../../../src/metrics/metrics.js';
import errorHandler from '../../../src/http/plugins/error-handler.js';
import analyzeRoute from '../../../src/http/routes/analyze.js';
import { testConfig } from '../../support/config.js';
import { loadRealModel } from '../../support/real-model.js';
import { metricValue, startApp } from '../../support/running-app.js';
import { waitUntil } from '../../support/wait-until.js';
import type { Prediction } from '../../../src/inference/postprocess.js';

describe('overload, deadlines and disconnects (embedded model)', () => {
  it('refuses at once with 429 and Retry-After when the queue is full, and stays healthy', async () => {
    const { service, url, engine } = await startApp({
      MAX_QUEUE: '4',
      MAX_TEXTS_PER_REQUEST: '4',
      ADMISSION_WAIT_MS: '0',
    });
    try {
      engine.close();
      const running = request(url)
        .post('/analyze')
        .send({ text: 'I love using this product!' })
        .then((r) => r);
      await waitUntil(() => engine.waitingBatches === 1);
      const queued = request(url)
        .post('/analyze')
        .send({ text: ['good', 'bad', 'fine', 'awful'] })
        .then((r) => r);
      await waitUntil(async () => (await metricValue(url, 'sentiment_queue_depth')) === 4);

      // The engine is held: these answers come without any compute finishing, i.e. at once.
      const refused = await Promise.all(
        Array.from({ length: 10 }, () => request(url).post('/analyze').send({ text: 'one more' })),
      );
      for (const response of refused) {
        assert.equal(response.status, 429);
        assert.equal(response.headers['retry-after'], '1');
        assert.equal((response.body as { statusCode: number }).statusCode, 429);
        assert.match((response.body as { message: string }).message, /queue holds 4/);
      }
      await request(url).get('/healthz').expect(200);
      await request(url).get('/readyz').expect(200);
      assert.equal(await metricValue(url, 'sentiment_rejections_total{reason="queue_full"}'), 10);

      engine.release();
      assert.equal((await running).status, 200);
      const answered = await queued;
      assert.equal(answered.status, 200);
      assert.equal((answered.body as Prediction[]).length, 4);
      const after = await request(url).post('/analyze').send({ text: 'I love using this product!' }).expect(200);
      assert.equal((after.body as Prediction[])[0]?.label, 'POSITIVE');
      assert.equal(await metricValue(url, 'sentiment_queue_depth'), 0);
    } finally {
      await service.close();
    }
  });

  it('under a storm of concurrent requests on a tiny queue answers each with 200 or 429, correctly, and recovers', async () => {
    const { service, url } = await startApp({ MAX_QUEUE: '2', MAX_TEXTS_PER_REQUEST: '2', MAX_BATCH_SIZE: '2' });
    try {
      const texts = ['I love using this product!', 'This is the worst purchase I have ever made.'];
      const responses = await Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          request(url)
            .post('/analyze')
            .send({ text: texts[i % 2] }),
        ),
      );
      responses.forEach((response, i) => {
        if (response.status === 429) return assert.equal(response.headers['retry-after'], '1');
        assert.equal(response.status, 200);
        assert.equal((response.body as Prediction[])[0]?.label, i % 2 === 0 ? 'POSITIVE' : 'NEGATIVE');
      });
      await request(url).get('/healthz').expect(200);
      await request(url).post('/analyze').send({ text: texts }).expect(200);
      assert.equal(await metricValue(url, 'sentiment_queue_depth'), 0);
    } finally {
      await service.close();
    }
  });

  it('answers 504 when the deadline passes, dropping waiting texts before compute', async () => {
    const { service, url, engine } = await startApp({ REQUEST_TIMEOUT_MS: '300' });
    try {
      engine.close();
      const inEngine = request(url)
        .post('/analyze')
        .send({ text: 'first' })
        .then((r) => r);
      await waitUntil(() => engine.waitingBatches === 1);
      const waiting = request(url)
        .post('/analyze')
        .send({ text: ['second', 'third'] })
        .then((r) => r);

      // Both time out while the engine is still held: the one being computed and the one queued behind it.
      for (const response of [await inEngine, await waiting]) {
        assert.equal(response.status, 504);
        assert.equal((response.body as { statusCode: number }).statusCode, 504);
        assert.match((response.body as { message: string }).message, /deadline/);
      }
      assert.equal(await metricValue(url, 'sentiment_queue_depth'), 0);
      assert.equal(await metricValue(url, 'sentiment_rejections_total{reason="deadline"}'), 2);

      engine.release();
      await request(url).post('/analyze').send({ text: 'I love using this product!' }).expect(200);
      assert.deepEqual(engine.batchSizes.slice(-2), [1, 1], 'the queued texts never reached the engine');
    } finally {
      await service.close();
    }
  });

  it('drops the texts of a client that disconnected before they reach the engine', async () => {
    const { service, url, engine } = await startApp();
    try {
      engine.close();
      const inEngine = request(url)
        .post('/analyze')
        .send({ text: 'first' })
        .then((r) => r);
      await waitUntil(() => engine.waitingBatches === 1);

      const body = JSON.stringify({ text: ['gone', 'gone too'] });
      const leaving = httpRequest(`${url}/analyze`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      leaving.on('error', () => {});
      leaving.end(body);
      await waitUntil(async () => (await metricValue(url, 'sentiment_queue_depth')) === 2);
      leaving.destroy();
      await waitUntil(async () => (await metricValue(url, 'sentiment_rejections_total{reason="client_gone"}')) === 1);
      assert.equal(await metricValue(url, 'sentiment_queue_depth'), 0);

      engine.release();
      assert.equal((await inEngine).status, 200);
      await request(url).post('/analyze').send({ text: 'after' }).expect(200);
      assert.deepEqual(engine.batchSizes.slice(-2), [1, 1], "the departed client's texts never reached the engine");
    } finally {
      await service.close();
    }
  });

  it('refuses new work with 503 and Retry-After once draining has begun', async () => {
    const { model, engine } = await loadRealModel();
    const config = testConfig();
    const metrics = new ServiceMetrics({
      queueCapacity: config.maxQueue,
      model: { model: 'm', engine: 'onnx', device: 'cpu', backend: 'b' },
    });
    const classifier = new Classifier(model, engine, config, metrics);
    const inference = new Inference(classifier, config);
    const app = Fastify();
    await app.register(errorHandler, { metrics });
    await app.register(analyzeRoute, { inference });
    try {
      const ask = () =>
        app.inject({ method: 'POST', url: '/analyze', payload: { text: 'I love using this product!' } });
      assert.equal((await ask()).statusCode, 200);
      void inference.drain();
      const refused = await ask();
      assert.equal(refused.statusCode, 503);
      assert.equal(refused.headers['retry-after'], '1');
      assert.match(refused.json<{ message: string }>().message, /shutting down/);
      assert.match(await metrics.registry.metrics(), /^sentiment_rejections_total\{reason="draining"\} 1$/m);
    } finally {
      await app.close();
      await classifier.close();
    }
  });
});
