import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { analyzeRequest, openConnection, requestOnNewConnection, transcript } from './support/raw-http.js';
import { metricValue, startApp } from './support/running-app.js';
import { waitUntil } from './support/wait-until.js';

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(port, '127.0.0.1');
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', () => resolve(true));
  });
}

describe('closing the service (what SIGTERM triggers)', () => {
  it('keeps listening while it drains: refuses new work with 503, answers what it had accepted, then stops listening', async (t) => {
    const { service, url, engine } = await startApp();
    t.after(() => engine.release());
    const port = Number(new URL(url).port);
    const send = async (text: string) => {
      const socket = await openConnection(port);
      const { head, body } = analyzeRequest(text);
      const record = transcript(socket);
      socket.write(head + body);
      return record;
    };
    engine.close();
    const computing = await send('I love using this product!');
    await waitUntil(() => engine.waitingBatches === 1);
    const queued = await send('This is the worst purchase I have ever made.');
    await waitUntil(async () => (await metricValue(url, 'sentiment_queue_depth')) === 1);

    let closeFinished = false;
    const closed = service.close().then(() => (closeFinished = true));
    // The engine is held, so the drain cannot end: everything below happens while it is in progress.
    await waitUntil(async () => (await requestOnNewConnection(`${url}/readyz`, 'GET')).status === 503);
    const refused = await requestOnNewConnection(`${url}/analyze`, 'POST', { text: 'one more' });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(refused.headers.connection, 'close');
    assert.equal((await requestOnNewConnection(`${url}/healthz`, 'GET')).status, 200);
    assert.equal(closeFinished, false);
    assert.equal(await refusesConnections(port), false, 'the listener stays open while draining');
    assert.equal(engine.disposed, false, 'the engine is kept until the drain is over');

    engine.release();
    await closed;
    // Both keep-alive connections were closed by the server after their answer.
    assert.match(
      await computing.closed,
      /^HTTP\/1\.1 200 OK[^]*connection: close[^]*\[\{"label":"POSITIVE","score":[\d.e-]+\}\]$/i,
    );
    assert.match(
      await queued.closed,
      /^HTTP\/1\.1 200 OK[^]*connection: close[^]*\[\{"label":"NEGATIVE","score":[\d.e-]+\}\]$/i,
    );
    assert.equal(await refusesConnections(port), true, 'no new connections once drained');
    assert.equal(engine.disposed, true, 'the engine is released last');
  });

  it('closes a connection that never sends a request once half of SHUTDOWN_TIMEOUT_MS has passed, instead of waiting on it', async () => {
    const { service, url } = await startApp({ SHUTDOWN_TIMEOUT_MS: '400' });
    const silent = await openConnection(Number(new URL(url).port));
    const record = transcript(silent);
    await service.close();
    // Closed by the server with nothing written, and not reset: it had not sent anything.
    assert.equal(await record.closed, '');
  });
});
