import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { startApp, type RunningApp } from '../support/running-app.js';

let running: RunningApp;
before(async () => (running = await startApp()));
after(() => running.app.close());

describe('health probes', () => {
  it('GET /healthz says the process is alive', async () => {
    const { body } = await request(running.url).get('/healthz').expect(200);
    assert.deepEqual(body, { status: 'ok' });
  });

  it('GET /readyz says ready once the app is built (model loaded, engine warmed up)', async () => {
    const { body } = await request(running.url).get('/readyz').expect(200);
    assert.deepEqual(body, { status: 'ready' });
  });
});
