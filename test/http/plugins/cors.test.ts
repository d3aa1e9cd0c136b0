import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, type RunningApp } from '../../support/running-app.js';

const allowed = 'https://app.example.com';
const refused = 'https://evil.example.com';
const body = JSON.stringify({ text: 'I love using this product!' });

function preflight(url: string, origin: string): Promise<Response> {
  return fetch(`${url}/analyze`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, authorization',
    },
  });
}

describe('CORS with CORS_ORIGINS set', () => {
  let running: RunningApp;
  before(
    async () =>
      (running = await startApp({ CORS_ORIGINS: `${allowed}, https://other.example.com:8443`, API_KEYS: 'k' })),
  );
  after(() => running.service.close());

  it('answers a preflight from an allowed origin with the methods and headers the API uses, without asking for a key', async () => {
    const response = await preflight(running.url, allowed);
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('access-control-allow-origin'), allowed);
    assert.match(response.headers.get('access-control-allow-methods') ?? '', /\bPOST\b/);
    const headers = (response.headers.get('access-control-allow-headers') ?? '').split(/,\s*/);
    assert.ok(headers.includes('content-type') && headers.includes('authorization'), headers.join());
    assert.match(response.headers.get('vary') ?? '', /origin/i);
  });

  it('gives a refused origin nothing: no CORS headers, and its preflight is not answered', async () => {
    const response = await preflight(running.url, refused);
    assert.equal(response.status, 404);
    for (const name of [
      'access-control-allow-origin',
      'access-control-allow-methods',
      'access-control-allow-headers',
    ]) {
      assert.equal(response.headers.get(name), null, name);
    }
    const post = await fetch(`${running.url}/analyze`, {
      method: 'POST',
      headers: { origin: refused, 'content-type': 'application/json', authorization: 'Bearer k' },
      body,
    });
    assert.equal(post.status, 200);
    assert.equal(post.headers.get('access-control-allow-origin'), null);
  });

  it('lets a script from an allowed origin read the answer, its 401 and the timing headers', async () => {
    const ok = await fetch(`${running.url}/analyze`, {
      method: 'POST',
      headers: { origin: allowed, 'content-type': 'application/json', authorization: 'Bearer k' },
      body,
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), allowed);
    const exposed = (ok.headers.get('access-control-expose-headers') ?? '').split(/,\s*/);
    for (const name of ['x-request-id', 'x-total-time', 'x-queue-time', 'www-authenticate'])
      assert.ok(exposed.includes(name), name);
    const unauthorized = await fetch(`${running.url}/analyze`, {
      method: 'POST',
      headers: { origin: allowed, 'content-type': 'application/json' },
      body,
    });
    assert.equal(unauthorized.status, 401);
    assert.equal(unauthorized.headers.get('access-control-allow-origin'), allowed);
  });
});

describe('CORS off (the default)', () => {
  let running: RunningApp;
  before(async () => (running = await startApp()));
  after(() => running.service.close());

  it('answers no preflight and sends no CORS header', async () => {
    assert.equal((await preflight(running.url, allowed)).status, 404);
    const response = await fetch(`${running.url}/analyze`, {
      method: 'POST',
      headers: { origin: allowed, 'content-type': 'application/json' },
      body,
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('access-control-allow-origin'), null);
  });
});

describe('CORS_ORIGINS=*', () => {
  let running: RunningApp;
  before(async () => (running = await startApp({ CORS_ORIGINS: '*' })));
  after(() => running.service.close());

  it('allows any origin, only because it was asked for', async () => {
    const response = await preflight(running.url, refused);
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
  });
});
