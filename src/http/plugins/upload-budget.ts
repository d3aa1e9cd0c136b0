import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { UploadsFullError } from '../../errors/rejections.js';

export interface UploadBudgetOptions {
  /** Most bytes that the bodies of all requests in progress may declare together (BODY_BUFFER_LIMIT_BYTES). */
  limitBytes: number;
  /** A body with no Content-Length (chunked) is counted as this, the most it may hold (BODY_LIMIT_BYTES). */
  bodyLimitBytes: number;
}

/**
 * Bounds the memory that bodies being received can hold: a request's declared body size is reserved when its
 * headers arrive and released when its response is done, so hundreds of stalled uploads cannot each hold a
 * megabyte. A body that does not fit is refused at once (429, Retry-After), before a byte of it is buffered.
 */
export default fp(async function uploadBudget(app: FastifyInstance, options: UploadBudgetOptions) {
  let reserved = 0;
  app.addHook('onRequest', async (request, reply) => {
    const length = request.headers['content-length'];
    const declared =
      length !== undefined
        ? Number(length)
        : request.headers['transfer-encoding'] !== undefined
          ? options.bodyLimitBytes
          : 0;
    // Malformed or oversized lengths are Fastify's to refuse (400, 413); only plausible ones are counted.
    if (!Number.isFinite(declared) || declared <= 0 || declared > options.bodyLimitBytes) return;
    // The body is not read into memory: it is discarded as it arrives, and the connection closed with a lingering
    // close (close-unread-body.ts), so the client reads a clean 429 and nothing after it.
    if (reserved + declared > options.limitBytes) throw new UploadsFullError(declared, options.limitBytes);
    reserved += declared;
    reply.raw.once('close', () => {
      reserved -= declared;
    });
  });
});
