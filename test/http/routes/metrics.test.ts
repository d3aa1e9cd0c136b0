import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { testBackendPattern, testEngine } from '../../support/config.js';
import { metricValue, startApp, type RunningApp } from '../../support/running-app.js';

let running: RunningApp;
before(async () => (running = await startApp({ MAX_QUEUE: '300' })));
after(() => running.service.close());

// The names dashboards and alert rules are written against.
const contract = [
  'sentiment_http_request_duration_seconds',
  'sentiment_texts_processed_total',
  'sentiment_queue_depth',
  'sentiment_queue_capacity',
  'sentiment_queue_wait_seconds',
  'sentiment_batch_size',
  'sentiment_batch_padded_tokens',
  'sentiment_batch_padding_ratio',
  'sentiment_inference_duration_seconds',
  'sentiment_engine_seconds_total',
  'sentiment_batches_ahead_of_long_total',
  'sentiment_rejections_total',
  'sentiment_model_info',
];

describe('GET /metrics', () => {
  it('exports every contract metric with its type, plus the default process metrics', async () => {
    await request(running.url)
      .post('/analyze')
      .send({ text: ['good', 'bad'] })
      .expect(200);
    const response = await request(running.url)
      .get('/metrics')
      .expect(200)
      .expect('content-type', /text\/plain/);
    const text = response.text;
    for (const name of contract) assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    assert.match(text, /^# TYPE sentiment_http_request_duration_seconds histogram$/m);
    assert.match(text, /^# TYPE sentiment_queue_depth gauge$/m);
    assert.match(text, /^# TYPE sentiment_rejections_total counter$/m);
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds']) {
      assert.match(text, new RegExp(`^${name} `, 'm'), name);
    }
  });

  it('labels model info, queue capacity and every rejection reason from the start', async () => {
    const text = (await request(running.url).get('/metrics').expect(200)).text;
    const info =
      /^sentiment_model_info\{model="sst2-minilm-l6",engine="(\w+)",device="cpu",backend="([^"]+)"\} 1$/m.exec(text);
    assert.equal(info?.[1], testEngine);
    assert.match(info?.[2] ?? '', testBackendPattern);
    assert.equal(await metricValue(running.url, 'sentiment_queue_capacity'), 300);
    for (const reason of ['queue_full', 'deadline', 'client_gone', 'draining', 'too_long', 'too_many_texts']) {
      assert.match(text, new RegExp(`^sentiment_rejections_total\\{reason="${reason}"\\} \\d+$`, 'm'), reason);
    }
  });

  it('counts texts and batches, and labels request durations by route pattern and status', async () => {
    const processed = await metricValue(running.url, 'sentiment_texts_processed_total');
    const batches = await metricValue(running.url, 'sentiment_batch_size_count');
    await request(running.url)
      .post('/analyze')
      .send({ text: ['one', 'two', 'three'] })
      .expect(200);
    await request(running.url).get('/no/such/route').expect(404);
    assert.equal(await metricValue(running.url, 'sentiment_texts_processed_total'), processed + 3);
    assert.equal(await metricValue(running.url, 'sentiment_batch_size_count'), batches + 1);
    const text = (await request(running.url).get('/metrics')).text;
    assert.match(
      text,
      /^sentiment_http_request_duration_seconds_count\{route="\/analyze",method="POST",status_code="200"\} \d+$/m,
    );
    assert.match(
      text,
      /^sentiment_http_request_duration_seconds_count\{route="unmatched",method="GET",status_code="404"\} 1$/m,
    );
    assert.match(text, /^sentiment_batch_padding_ratio_count \d+$/m);
    assert.match(text, /^sentiment_inference_duration_seconds_count \d+$/m);
    assert.match(text, /^sentiment_queue_wait_seconds_count \d+$/m);
  });
});
