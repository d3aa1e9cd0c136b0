import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * Most time the server keeps reading (and discarding) a refused body after its answer, before it closes: long
 * enough for what was in flight to arrive, short enough that a client streaming on regardless holds nothing.
 */
const lingerMs = 1000;

/**
 * One response per request: an answer sent before the request's body has fully arrived (an early refusal: 429 at
 * admission, 413, 415, 503, 401) closes the connection. Kept alive, the connection would still owe the rest of that
 * body: Node discards it as it arrives, and a client that stalls instead gets a second answer (408) on the same
 * connection when BODY_TIMEOUT_MS runs out, or none and an open socket.
 *
 * The close is a lingering one, as nginx's: the server ends its side at once (the client reads the answer, then
 * the end) and reads and discards what the client still sends for at most `lingerMs`. Closing outright while
 * unread bytes are in flight would reset the connection, and a reset can discard the answer before the client
 * reads it.
 */
export default fp(async function closeUnreadBody(app: FastifyInstance) {
  app.addHook('onSend', async (request, reply) => {
    if (request.raw.complete) return;
    reply.header('connection', 'close');
    const socket = request.raw.socket as Socket | null;
    if (socket !== null) lingerOnClose(socket);
  });
});

/**
 * Replaces, on this one socket, what Node calls once a `Connection: close` answer is written (destroySoon: end,
 * then destroy as soon as the end is flushed) with a lingering close.
 */
function lingerOnClose(socket: Socket): void {
  socket.destroySoon = function lingeringClose(this: Socket): void {
    const timer = setTimeout(() => this.destroy(), lingerMs);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    // The client closing its side ends the wait early.
    this.once('end', () => this.destroy());
    this.end();
    this.resume();
  };
}
