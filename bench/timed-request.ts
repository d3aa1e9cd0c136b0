import type { Agent, IncomingHttpHeaders } from 'node:http';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';

/** How one request ended, as the load generators count it. */
export type TimedOutcome =
  | { kind: 'answered'; statusCode: number; latencyMs: number; headers: IncomingHttpHeaders }
  | { kind: 'error' }
  | { kind: 'timeout' };

/**
 * POSTs one body and resolves with how it ended; latency counts from `dueAt` (when the request was due, which an
 * open loop may have passed already), and the client gives up `timeoutMs` after it.
 */
export function sendTimed(
  target: URL,
  agent: Agent,
  body: string,
  dueAt: number,
  timeoutMs: number,
): Promise<TimedOutcome> {
  return new Promise((resolve) => {
    let finished = false;
    const finish = (outcome: TimedOutcome): void => {
      if (finished) return;
      finished = true;
      resolve(outcome);
    };
    const req = request(
      target,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.once('end', () =>
          finish({
            kind: 'answered',
            statusCode: res.statusCode ?? 0,
            latencyMs: performance.now() - dueAt,
            headers: res.headers,
          }),
        );
      },
    );
    req.setTimeout(Math.max(1, dueAt + timeoutMs - performance.now()), () => {
      finish({ kind: 'timeout' });
      req.destroy();
    });
    req.once('error', () => finish({ kind: 'error' }));
    req.end(body);
  });
}
