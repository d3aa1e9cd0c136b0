import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { startApp } from './support/running-app.js';
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

/** Everything the server wrote on a raw connection, until it closed it. */
function transcript(socket: Socket): Promise<string> {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return new Promise((resolve) => socket.on('close', () => resolve(text)));
}

describe('closing the app (what SIGTERM triggers)', () => {
  it('stops accepting connections and answers every request it had accepted, closing their connections', async () => {
    const { app, url, engine } = await startApp();
    const port = Number(new URL(url).port);
    const analyze = (text: string): string => {
      const body = JSON.stringify({ text });
      return `POST /analyze HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    };
    engine.close();
    const computing = connect(port, '127.0.0.1');
    const queued = connect(port, '127.0.0.1');
    const computingTranscript = transcript(computing);
    const queuedTranscript = transcript(queued);
    computing.write(analyze('I love using this product!'));
    await waitUntil(() => engine.waitingBatches === 1);
    queued.write(analyze('This is the worst purchase I have ever made.'));
    await waitUntil(async () => (await queueDepth()) === 1);

    const closed = app.close();
    await waitUntil(() => refusesConnections(port));
    engine.release();
    await closed;

    // Both keep-alive connections were closed by the server after their answer, which is what lets close() finish.
    const first = await computingTranscript;
    const second = await queuedTranscript;
    assert.match(first, /^HTTP\/1\.1 200 OK[^]*connection: close[^]*\[\{"label":"POSITIVE","score":[\d.e-]+\}\]$/i);
    assert.match(second, /^HTTP\/1\.1 200 OK[^]*connection: close[^]*\[\{"label":"NEGATIVE","score":[\d.e-]+\}\]$/i);

    async function queueDepth(): Promise<number> {
      const response = await app.inject({ method: 'GET', url: '/metrics' });
      const line = response.body.split('\n').find((candidate) => candidate.startsWith('sentiment_queue_depth '));
      return Number(line?.split(' ')[1]);
    }
  });
});
