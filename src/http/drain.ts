import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';

/**
 * Long enough for the event loop to poll for I/O (accept connections, read requests) between two checks; short
 * enough that a server with nothing left to answer closes at once.
 */
const settleRoundMs = 5;

/**
 * During a drain, a request whose body has not grown for this long is cut (408, connection closed): draining
 * never waits on a client that is not sending. Its bytes may be in flight behind a slow link, hence not at once.
 */
export const stalledUploadMs = 1000;
/** How often uploads in progress are looked at during a drain. */
const stallCheckMs = 100;

interface Upload {
  request: IncomingMessage;
  bytesRead: number;
  progressAt: number;
}

/**
 * What a graceful shutdown must answer before it closes the listener: the requests in progress, and the
 * connections accepted that have not sent their first request yet. Refusing requests is the routes' job.
 */
export class HttpDrain {
  private readonly inProgress = new Set<Promise<void>>();
  /** Requests in progress by their raw request, to see which are still receiving a body. */
  private readonly requests = new Set<IncomingMessage>();
  private readonly awaitingFirstRequest = new Set<Socket>();
  private accepted = 0;

  constructor(app: FastifyInstance) {
    app.server.on('connection', (socket: Socket) => {
      this.accepted += 1;
      this.awaitingFirstRequest.add(socket);
      socket.once('close', () => this.awaitingFirstRequest.delete(socket));
    });
    app.server.on('request', (request: IncomingMessage) => this.awaitingFirstRequest.delete(request.socket));
    // Until the response is sent or the connection drops.
    app.addHook('onRequest', (request, reply, done) => {
      const finished = new Promise<void>((resolve) => reply.raw.once('close', resolve));
      this.inProgress.add(finished);
      this.requests.add(request.raw);
      void finished.then(() => {
        this.inProgress.delete(finished);
        this.requests.delete(request.raw);
      });
      done();
    });
  }

  /**
   * Resolves once every request in progress now has been answered, and then the server has gone a round with
   * nothing new: no connection accepted, none still to send its request, no request in progress. The settling
   * stops at `settleUntil` (a performance.now() instant) all the same, after one round at least; connections that
   * still have not sent a request are then closed.
   *
   * The settling is there because connections keep arriving up to the last answer: accepted at once while the
   * engine computes on its worker threads, and, with the engine on the main thread (ENGINE=tfjs, ENGINE_THREAD=main),
   * held in the kernel's accept queue until the last batch ends, which is also when the last accepted request is
   * answered. Closing the listener then would reset them; a round lets them in to be refused cleanly. A client that has connected but not yet written its request is waited for, as Go's Shutdown
   * does, since closing its connection would reset the request it is about to send. The bound is for steady
   * traffic with no load balancer to stop it (docker stop, compose), which never goes quiet: ending the drain with
   * exit 1 would report a clean shutdown as a failed one. Node's closeIdleConnections() leaves connections that
   * never sent a request open, and server.close() would wait for them, so they are closed here.
   */
  async wait(settleUntil: number): Promise<void> {
    await this.answerInProgress();
    do {
      const acceptedBefore = this.accepted;
      await sleep(settleRoundMs);
      if (this.accepted === acceptedBefore && this.awaitingFirstRequest.size === 0 && this.inProgress.size === 0)
        return;
    } while (performance.now() < settleUntil);
    for (const socket of this.awaitingFirstRequest) socket.destroy();
  }

  /** Waits for the requests in progress, cutting those whose upload has stalled (see stalledUploadMs). */
  private async answerInProgress(): Promise<void> {
    const uploads = new Map<IncomingMessage, Upload>();
    while (this.inProgress.size > 0) {
      const now = performance.now();
      for (const request of this.requests) {
        if (request.complete) continue;
        const bytesRead = request.socket.bytesRead;
        const upload = uploads.get(request);
        if (upload === undefined || upload.bytesRead !== bytesRead) {
          uploads.set(request, { request, bytesRead, progressAt: now });
        } else if (now - upload.progressAt >= stalledUploadMs) {
          cutStalledUpload(request);
        }
      }
      await Promise.race([Promise.all([...this.inProgress]), sleep(stallCheckMs)]);
    }
  }
}

/** Answers 408 on the socket itself (the request's handler is still waiting for its body) and closes it. */
function cutStalledUpload(request: IncomingMessage): void {
  const socket = request.socket;
  if (socket.destroyed) return;
  if (socket.writable) {
    socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    setTimeout(() => socket.destroy(), 100).unref();
  } else {
    socket.destroy();
  }
}
