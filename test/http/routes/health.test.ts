import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import healthRoutes from '../../../src/http/routes/health.js';
import type { Inference } from '../../../src/inference/inference.js';
import { startApp, type RunningApp } from '../../support/running-app.js';

/** The inference call's state as the probes read it, set by the test. */
function probeState(
  isDraining: () => boolean,
  engineFailure: () => Error | undefined,
): Pick<Inference, 'engineFailure' | 'readiness'> {
  return {
    get engineFailure() {
      return engineFailure();
    },
    get readiness() {
      if (isDraining()) return 'draining' as const;
      return engineFailure() === undefined ? ('ready' as const) : ('engine failed' as const);
    },
  };
}

let running: RunningApp;
before(async () => (running = await startApp()));
after(() => running.service.close());

describe('health probes', () => {
  it('GET /healthz says the process is alive', async () => {
    const { body } = await request(running.url).get('/healthz').expect(200);
    assert.deepEqual(body, { status: 'ok' });
  });

  it('GET /readyz says ready once the app is built (model loaded, engine warmed up)', async () => {
    const { body } = await request(running.url).get('/readyz').expect(200);
    assert.deepEqual(body, { status: 'ready' });
  });

  it('GET /readyz answers 503 from the moment draining begins, while /healthz stays 200', async () => {
    let draining = false;
    const app = Fastify();
    await app.register(healthRoutes, {
      inference: probeState(
        () => draining,
        () => undefined,
      ),
    });
    assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
    draining = true;
    const response = await app.inject({ url: '/readyz' });
    assert.equal(response.statusCode, 503);
    assert.deepEqual(response.json(), { status: 'draining' });
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    await app.close();
  });
});

describe('health probes when the engine has failed', () => {
  it('answers 503 on /healthz (so the container is restarted) and on /readyz, saying why', async () => {
    let failure: Error | undefined;
    const app = Fastify();
    await app.register(healthRoutes, {
      inference: probeState(
        () => false,
        () => failure,
      ),
    });
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    failure = new Error('an engine thread stopped: exit code 3');
    const health = await app.inject({ url: '/healthz' });
    assert.equal(health.statusCode, 503);
    assert.deepEqual(health.json(), { status: 'engine failed', reason: 'an engine thread stopped: exit code 3' });
    const ready = await app.inject({ url: '/readyz' });
    assert.equal(ready.statusCode, 503);
    assert.deepEqual(ready.json(), { status: 'engine failed' });
    await app.close();
  });
});
