import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { packageVersion } from '../../../src/config/package-root.js';
import { resolveMaxBatchTokens } from '../../../src/queue/batch-token-budget.js';
import { readModelDir } from '../../../src/model/model-dir.js';
import { testBackendPattern, testConfig, testEngine } from '../../support/config.js';
import { startApp, type RunningApp } from '../../support/running-app.js';

let running: RunningApp;
before(async () => (running = await startApp({ MAX_BATCH_SIZE: '16', MAX_WAIT_MS: '2' })));
after(() => running.service.close());

describe('GET /info', () => {
  it('describes the model, engine, batching settings, limits and version', async () => {
    const { body } = await request(running.url).get('/info').expect(200);
    assert.deepEqual(body, {
      version: packageVersion,
      model: {
        name: 'sst2-minilm-l6',
        type: 'bert',
        labels: ['NEGATIVE', 'POSITIVE'],
        max_length: (body as { model: { max_length: number } }).model.max_length,
        // The default DTYPE=auto: the int8 file on CPU for ONNX Runtime; TensorFlow.js computes in float32;
        // ENGINE=remote reads no weights (the model server computes).
        file: { tfjs: 'model.safetensors', onnx: 'onnx/model_quantized.onnx', remote: null }[testEngine],
        dtype: { tfjs: 'fp32', onnx: 'q8', remote: null }[testEngine],
        dtype_reason: {
          tfjs: 'DTYPE=auto with ENGINE=tfjs: float32, which is what the TensorFlow.js engine computes in',
          onnx: 'DTYPE=auto on CPU: the model directory has onnx/model_quantized.onnx',
          remote: 'DTYPE=auto with ENGINE=remote: the model server holds the weights and computes in its own dtype',
        }[testEngine],
        id: null,
        revision: null,
        sha: null,
      },
      engine: {
        kind: testEngine,
        device: 'cpu',
        backend: running.engine.backend,
        thread: 'main',
        // ENGINE=remote: the model server's instances plus one batch on its way (remote-engine.ts).
        instances: testEngine === 'remote' ? running.engine.instances : 1,
        intra_op_threads: null,
        inter_op_threads: null,
      },
      batching: {
        max_batch_size: 16,
        max_batch_tokens: resolveMaxBatchTokens('auto', 'cpu', readModelDir(testConfig().modelDir, 'fp32').hiddenSize),
        max_padding_ratio: 0.1,
        max_wait_ms: 2,
        max_queue: 1024,
        // LONG_TEXT_TOKENS=auto: three quarters of the model's maximum length.
        long_text_tokens: Math.floor((readModelDir(testConfig().modelDir, 'fp32').maxLength * 3) / 4),
        long_text_share: 0.25,
        short_lane_tokens: 64,
      },
      limits: { max_texts_per_request: 64, body_limit_bytes: 1048576, request_timeout_ms: 30000 },
    });
    assert.ok((body as { model: { max_length: number } }).model.max_length > 0);
    assert.match(running.engine.backend, testBackendPattern);
  });
});

describe('GET /docs', () => {
  it('serves the OpenAPI document generated from the route schemas, and its UI', async () => {
    const { body } = await request(running.url).get('/docs/json').expect(200);
    const document = body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.match(document.openapi, /^3\./);
    for (const [path, method] of [
      ['/analyze', 'post'],
      ['/healthz', 'get'],
      ['/readyz', 'get'],
      ['/info', 'get'],
      ['/metrics', 'get'],
    ]) {
      assert.ok(document.paths[path as string]?.[method as string], `${method} ${path} is documented`);
    }
    const analyze = document.paths['/analyze']?.post as { requestBody: unknown; responses: Record<string, unknown> };
    assert.ok(analyze.requestBody);
    for (const status of ['200', '400', '413', '415', '422', '429', '503', '504'])
      assert.ok(analyze.responses[status], status);
    await request(running.url)
      .get('/docs')
      .redirects(1)
      .expect(200)
      .expect('content-type', /text\/html/);
  });
});
