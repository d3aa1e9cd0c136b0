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
after(() => running.app.close());

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
        file: { tfjs: 'model.safetensors', onnx: 'onnx/model.onnx', remote: null }[testEngine],
        dtype: 'fp32',
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
        // LONG_TEXT_TOKENS=auto: half the model's maximum length.
        long_text_tokens: Math.floor(readModelDir(testConfig().modelDir, 'fp32').maxLength / 2),
        long_text_share: 0.25,
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
