import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';

/** A POST /analyze request as it goes on the wire (keep-alive, HTTP/1.1's default). */
export function analyzeRequest(text: string, extraHeaders = ''): { head: string; body: string } {
  const body = JSON.stringify({ text });
  const head =
    `POST /analyze HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n`;
  return { head, body };
}

/** A plain connection to a local port, resolved once connected. */
export function openConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export interface Transcript {
  /** Everything the server has written so far. */
  text(): string;
  /** Resolves once the server has written something matching pattern. */
  until(pattern: RegExp): Promise<string>;
  /** Resolves with everything the server wrote once the connection closed; rejects on a connection error (reset). */
  closed: Promise<string>;
}

/** Records what the server writes on a raw connection. */
export function transcript(socket: Socket): Transcript {
  let text = '';
  const watchers: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    for (const watch of [...watchers]) watch();
  });
  const closed = new Promise<string>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => resolve(text));
  });
  // Readers of `until` alone must not see an unhandled rejection.
  closed.catch(() => {});
  return {
    text: () => text,
    closed,
    until: (pattern) =>
      new Promise((resolve, reject) => {
        const watch = (): void => {
          if (!pattern.test(text)) return;
          watchers.splice(watchers.indexOf(watch), 1);
          resolve(text);
        };
        watchers.push(watch);
        watch();
        closed.then(() => reject(new Error(`connection closed before ${pattern}: ${text}`)), reject);
      }),
  };
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a connection of its own (no agent, so nothing is pooled or reused). */
export function requestOnNewConnection(url: string, method: 'GET' | 'POST', body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        agent: false,
        headers:
          payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
