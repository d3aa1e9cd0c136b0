import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { openConnection, transcript } from '../support/raw-http.js';
import { metricValue, startApp } from '../support/running-app.js';
import { waitUntil } from '../support/wait-until.js';

/** How soon after its one answer a refused connection must be closed. */
const closeWithinMs = 1000;

interface Outcome {
  /** Everything the server wrote on the connection. */
  written: string;
  /** Milliseconds from the first status line's arrival to the connection's close. */
  closedAfterMs: number;
}

/**
 * Sends a request's head and only the start of its body (the rest never comes) on a raw connection, and waits for
 * the server to close it. The socket rejects on a reset, so only a clean close passes.
 */
async function partialUpload(url: string, head: string, bodyStart: string): Promise<Outcome> {
  const socket = await openConnection(Number(new URL(url).port));
  const seen = transcript(socket);
  socket.write(head + bodyStart);
  const answered = seen.until(/^HTTP\/1\.1 \d{3} /).then(() => performance.now());
  // No test hangs on a connection the server never closes: the limit is far beyond the one asserted.
  const timer = setTimeout(() => socket.destroy(new Error(`still open after 15 s: ${seen.text()}`)), 15_000);
  try {
    const written = await seen.closed;
    return { written, closedAfterMs: performance.now() - (await answered) };
  } finally {
    clearTimeout(timer);
  }
}

function postHead(contentType: string, length: number, extra = ''): string {
  return (
    `POST /analyze HTTP/1.1\r\nHost: test\r\nContent-Type: ${contentType}\r\nContent-Length: ${length}\r\n` +
    `${extra}\r\n`
  );
}

const jsonHead = (length: number): string => postHead('application/json', length);
const bodyStart = '{"text":"';

/** Sends one request and resolves once its batch is held in the (closed) engine; the promise is its response. */
async function requestHeldInEngine(
  url: string,
  engine: { waitingBatches: number },
): Promise<{ response: Promise<Response> }> {
  const response = fetch(`${url}/analyze`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'I love using this product!' }),
  });
  await waitUntil(() => engine.waitingBatches === 1);
  return { response };
}

function assertOneAnswer(outcome: Outcome, status: number): void {
  const statusLines = outcome.written.match(/HTTP\/1\.1 \d{3} /g) ?? [];
  assert.deepEqual(statusLines, [`HTTP/1.1 ${status} `], `exactly one answer: ${outcome.written}`);
  assert.ok(
    outcome.closedAfterMs <= closeWithinMs,
    `closed ${outcome.closedAfterMs.toFixed(0)} ms after the answer (at most ${closeWithinMs})`,
  );
}

describe('one response per request: early refusals close the connection (raw sockets)', () => {
  it('413: a declared body over BODY_LIMIT_BYTES', async () => {
    const { service, url } = await startApp({ BODY_LIMIT_BYTES: '1000', BODY_BUFFER_LIMIT_BYTES: '1000' });
    try {
      const outcome = await partialUpload(url, jsonHead(5000), bodyStart);
      assertOneAnswer(outcome, 413);
      assert.match(outcome.written, /\r\nconnection: close\r\n/i);
    } finally {
      await service.close();
    }
  });

  it('415: a content type the service does not read', async () => {
    const { service, url } = await startApp();
    try {
      assertOneAnswer(await partialUpload(url, postHead('text/csv', 5000), 'text\n'), 415);
    } finally {
      await service.close();
    }
  });

  it('429: queue full at admission, while the body is still arriving; later requests are served', async () => {
    const { service, url, engine } = await startApp({
      MAX_QUEUE: '1',
      MAX_TEXTS_PER_REQUEST: '1',
      ADMISSION_WAIT_MS: '0',
    });
    try {
      engine.close();
      const running = await requestHeldInEngine(url, engine);
      const queued = fetch(`${url}/analyze`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'fine' }),
      });
      await waitUntil(async () => (await metricValue(url, 'sentiment_queue_depth')) === 1);
      const outcome = await partialUpload(url, jsonHead(5000), bodyStart);
      assertOneAnswer(outcome, 429);
      assert.match(outcome.written, /\r\nretry-after: 1\r\n/i);
      engine.release();
      assert.equal((await running.response).status, 200);
      assert.equal((await queued).status, 200);
    } finally {
      engine.release();
      await service.close();
    }
  });

  it('429: uploads full (BODY_BUFFER_LIMIT_BYTES), and the refused body is not held', async () => {
    const { service, url } = await startApp({
      BODY_LIMIT_BYTES: '1000',
      BODY_BUFFER_LIMIT_BYTES: '1000',
      BODY_TIMEOUT_MS: '3000',
    });
    try {
      const holder = await openConnection(Number(new URL(url).port));
      const held = transcript(holder);
      holder.write(jsonHead(900) + bodyStart);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assertOneAnswer(await partialUpload(url, jsonHead(500), bodyStart), 429);
      // The holder itself times out with one 408.
      assert.deepEqual((await held.closed).match(/HTTP\/1\.1 \d{3} /g), ['HTTP/1.1 408 ']);
    } finally {
      await service.close();
    }
  });

  it('503: a request that arrives while the server drains', async () => {
    const { service, url, engine } = await startApp();
    try {
      engine.close();
      // A request in progress keeps the drain (and so the listener) open.
      const running = await requestHeldInEngine(url, engine);
      const closing = service.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      assertOneAnswer(await partialUpload(url, jsonHead(5000), bodyStart), 503);
      engine.release();
      assert.equal((await running.response).status, 200);
      await closing;
    } finally {
      engine.release();
      await service.close();
    }
  });

  it('408: a body that stops arriving (BODY_TIMEOUT_MS)', async () => {
    const { service, url } = await startApp({ BODY_TIMEOUT_MS: '500' });
    try {
      const outcome = await partialUpload(url, jsonHead(5000), bodyStart);
      assertOneAnswer(outcome, 408);
    } finally {
      await service.close();
    }
  });

  it('a client that keeps streaming its refused body still reads the one answer, then the close', async () => {
    const { service, url } = await startApp({ BODY_LIMIT_BYTES: '1000000', BODY_BUFFER_LIMIT_BYTES: '1000000' });
    try {
      const socket = await openConnection(Number(new URL(url).port));
      const seen = transcript(socket);
      socket.write(postHead('text/csv', 900_000));
      // Streams until the server's end arrives (writes after it are the client's own business).
      const chunk = 'x'.repeat(16_384);
      const streaming = setInterval(() => {
        if (socket.writable) socket.write(chunk);
      }, 5);
      try {
        await seen.until(/^HTTP\/1\.1 415 /);
        const answeredAt = performance.now();
        await new Promise<void>((resolve) => socket.once('end', resolve));
        assert.ok(performance.now() - answeredAt <= closeWithinMs, 'the server ended the connection');
        assert.deepEqual(seen.text().match(/HTTP\/1\.1 \d{3} /g), ['HTTP/1.1 415 ']);
      } finally {
        clearInterval(streaming);
        socket.destroy();
      }
    } finally {
      await service.close();
    }
  });
});
