import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { startApp, type RunningApp } from '../support/running-app.js';

let running: RunningApp;
before(async () => {
  running = await startApp();
});
after(() => running.service.close());

type Operation = {
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, unknown>;
  tags?: string[];
};

describe('GET /docs/json lists every client protocol route', () => {
  it('with its request schema and its success and error responses', async () => {
    const document = (await request(running.url).get('/docs/json').expect(200)).body as {
      paths: Record<string, Record<string, Operation>>;
    };
    const posts: [string, string[]][] = [
      ['/', ['200', '400', '413', '429', '503', '504']],
      ['/predict', ['200', '413', '422', '424', '429', '503']],
      ['/v2/models/{name}/infer', ['200', '400', '404', '413', '429', '503', '504']],
      ['/v2/models/{name}/versions/{version}/infer', ['200', '400', '404']],
    ];
    for (const [path, statuses] of posts) {
      const operation = document.paths[path]?.post;
      assert.ok(operation, `POST ${path} is documented`);
      assert.ok(operation.requestBody?.content['application/json']?.schema, `POST ${path} has a body schema`);
      for (const status of statuses) assert.ok(operation.responses[status], `POST ${path} documents ${status}`);
      assert.ok(operation.tags?.length, `POST ${path} is tagged with its protocol`);
    }
    for (const path of [
      '/health',
      '/v2',
      '/v2/health/live',
      '/v2/health/ready',
      '/v2/models/{name}',
      '/v2/models/{name}/versions/{version}',
      '/v2/models/{name}/ready',
      '/v2/models/{name}/versions/{version}/ready',
    ]) {
      assert.ok(document.paths[path]?.get, `GET ${path} is documented`);
    }
  });
});
