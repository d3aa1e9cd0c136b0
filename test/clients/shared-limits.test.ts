import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import request from 'supertest';
import { callOn, clientFor, grpcAddressOf, inferRequest } from '../support/grpc-client.js';
import { metricValue, startApp } from '../support/running-app.js';
import { waitUntil } from '../support/wait-until.js';

// Every protocol shares /analyze's one queue, admission and shutdown: each refuses in its own error shape, with the
// same statuses (gRPC: their gRPC equivalents).

describe('one queue for every protocol', () => {
  it('refuses with 429 and Retry-After in each protocol’s shape while the queue is full, then answers again', async () => {
    const { service, url, engine } = await startApp({ MAX_QUEUE: '2', MAX_TEXTS_PER_REQUEST: '2', GRPC_PORT: '0' });
    const grpcClient = clientFor(grpcAddressOf(service));
    try {
      const name = ((await (await fetch(`${url}/info`)).json()) as { model: { name: string } }).model.name;
      engine.close();
      const running = request(url)
        .post('/')
        .send({ inputs: 'I love using this product!' })
        .then((r) => r);
      await waitUntil(() => engine.waitingBatches === 1);
      const queued = request(url)
        .post('/predict')
        .send({ inputs: [['good'], ['bad']] })
        .then((r) => r);
      await waitUntil(async () => (await metricValue(url, 'sentiment_queue_depth')) === 2);
      const before = await metricValue(url, 'sentiment_rejections_total{reason="queue_full"}');

      const hf = await request(url).post('/').send({ inputs: 'one more' });
      const tei = await request(url).post('/predict').send({ inputs: 'one more' });
      const v2 = await request(url)
        .post(`/v2/models/${name}/infer`)
        .send({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['one more'] }] });
      for (const response of [hf, tei, v2]) {
        assert.equal(response.status, 429);
        assert.equal(response.headers['retry-after'], '1');
        assert.match((response.body as { error: string }).error, /queue holds 2/);
      }
      assert.equal((tei.body as { error_type: string }).error_type, 'Overloaded');
      assert.deepEqual(Object.keys(hf.body as object), ['error']);
      assert.deepEqual(Object.keys(v2.body as object), ['error']);
      await assert.rejects(
        callOn(grpcClient, 'ModelInfer', inferRequest(name, ['one more'])),
        (error: grpc.ServiceError) => {
          assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED);
          assert.match(error.details, /queue holds 2/);
          return true;
        },
      );
      assert.equal(await metricValue(url, 'sentiment_rejections_total{reason="queue_full"}'), before + 4);

      engine.release();
      assert.equal((await running).status, 200);
      assert.equal((await queued).status, 200);
    } finally {
      grpcClient.close();
      engine.release();
      await service.close();
    }
  });

  it('holds a gRPC call for up to ADMISSION_WAIT_MS while the queue is full, then lets it in', async () => {
    const { service, url, engine } = await startApp({
      MAX_QUEUE: '2',
      MAX_TEXTS_PER_REQUEST: '2',
      ADMISSION_WAIT_MS: '10000',
      GRPC_PORT: '0',
    });
    const grpcClient = clientFor(grpcAddressOf(service));
    try {
      const name = ((await (await fetch(`${url}/info`)).json()) as { model: { name: string } }).model.name;
      engine.close();
      const running = request(url)
        .post('/')
        .send({ inputs: 'I love using this product!' })
        .then((r) => r);
      await waitUntil(() => engine.waitingBatches === 1);
      const queued = request(url)
        .post('/predict')
        .send({ inputs: [['good'], ['bad']] })
        .then((r) => r);
      await waitUntil(async () => (await metricValue(url, 'sentiment_queue_depth')) === 2);
      const waiting = callOn(grpcClient, 'ModelInfer', inferRequest(name, ['This is the worst purchase ever.']));
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await metricValue(url, 'sentiment_rejections_total{reason="queue_full"}'), 0, 'held, not refused');
      engine.release();
      assert.equal((await running).status, 200);
      assert.equal((await queued).status, 200);
      const labels = (await waiting).raw_output_contents[0] as Buffer;
      assert.match(labels.toString('latin1'), /NEGATIVE/);
    } finally {
      grpcClient.close();
      engine.release();
      await service.close();
    }
  });
});

describe('shutdown for every protocol', () => {
  it('refuses new work with 503 and Retry-After in each protocol’s shape, turns their health probes, and answers what it accepted', async () => {
    const { service, url, engine } = await startApp();
    try {
      const name = ((await (await fetch(`${url}/info`)).json()) as { model: { name: string } }).model.name;
      engine.close();
      const accepted = request(url)
        .post('/predict')
        .send({ inputs: 'I love using this product!' })
        .then((r) => r);
      await waitUntil(() => engine.waitingBatches === 1);
      const closed = service.close();
      await waitUntil(async () => (await request(url).get('/readyz')).status === 503);

      const hf = await request(url).post('/').send({ inputs: 'one more' });
      const tei = await request(url).post('/predict').send({ inputs: 'one more' });
      const v2 = await request(url)
        .post(`/v2/models/${name}/infer`)
        .send({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['one more'] }] });
      for (const response of [hf, tei, v2]) {
        assert.equal(response.status, 503);
        assert.equal(response.headers['retry-after'], '1');
        assert.match((response.body as { error: string }).error, /shutting down/);
      }
      assert.equal((tei.body as { error_type: string }).error_type, 'Unhealthy');
      assert.deepEqual((await request(url).get('/health').expect(503)).body, {
        error: 'unhealthy',
        error_type: 'Unhealthy',
      });
      await request(url).get('/v2/health/ready').expect(400);
      await request(url).get(`/v2/models/${name}/ready`).expect(400);
      await request(url).get('/v2/health/live').expect(200);

      engine.release();
      const answer = await accepted;
      assert.equal(answer.status, 200);
      assert.equal((answer.body as { label: string }[])[0]?.label, 'POSITIVE');
      await closed;
    } finally {
      engine.release();
    }
  });
});
