import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { openConnection, transcript } from './support/raw-http.js';
import { startServer } from './support/spawned-server.js';

/** Opens a POST /analyze that promises `length` bytes of body and sends only its first few. */
async function stalledUpload(port: number, length: number): Promise<ReturnType<typeof transcript>> {
  const socket = await openConnection(port);
  const seen = transcript(socket);
  socket.write(
    `POST /analyze HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{"text":"`,
  );
  return seen;
}

describe('slow and stalled clients (server process)', () => {
  it('SIGTERM with a stalled upload open: the upload gets 408, the process exits 0 long before SHUTDOWN_TIMEOUT_MS', {
    timeout: 60_000,
  }, async (t) => {
    // BODY_TIMEOUT_MS far away: it is the drain, not the read timeout, that cuts the stalled upload.
    const server = await startServer({ HOST: '127.0.0.1', BODY_TIMEOUT_MS: '120000', SHUTDOWN_TIMEOUT_MS: '15000' });
    t.after(() => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    });
    const upload = await stalledUpload(Number(new URL(server.url).port), 100_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const signalledAt = performance.now();
    server.child.kill('SIGTERM');
    assert.match(await upload.closed, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    const exit = await server.exited;
    const seconds = (performance.now() - signalledAt) / 1000;
    assert.equal(exit.code, 0, exit.stderr);
    assert.ok(seconds < 7.5, `exited ${seconds} s after SIGTERM (SHUTDOWN_TIMEOUT_MS is 15 s)`);
  });

  it('logs URLs without their query string, and refusals at debug only', { timeout: 60_000 }, async (t) => {
    const server = await startServer({
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      BODY_LIMIT_BYTES: '1000',
      BODY_BUFFER_LIMIT_BYTES: '1000',
      BODY_TIMEOUT_MS: '2000',
    });
    t.after(() => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    });
    assert.equal((await fetch(`${server.url}/healthz?text=my+secret+review`)).status, 200);
    const holder = await stalledUpload(Number(new URL(server.url).port), 900);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await fetch(`${server.url}/analyze`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'x'.repeat(400) }),
    });
    assert.equal(refused.status, 429);
    await holder.closed;
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    assert.equal(exit.code, 0, exit.stderr);
    const lines = exit.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.doesNotMatch(exit.stdout, /secret/);
    const health = lines.find((line) => line.url === '/healthz');
    assert.equal(health?.level, 30, 'a completed request at info, its path alone');
    const refusal = lines.find((line) => line.statusCode === 429);
    assert.equal(refusal?.level, 20, 'a refusal at debug');
    assert.equal(refusal?.msg, 'request refused');
  });
});
