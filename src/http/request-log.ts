import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * Refusals for overload (429) and shutdown (503): under attack or a spike there is one per request, so they are
 * logged at debug and counted in sentiment_rejections_total instead of filling the log.
 */
const refusalStatuses = new Set([429, 503]);

/** The path alone: a query string may carry text (or tokens) that must not reach the logs. */
export function loggedUrl(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/**
 * One log line per request, when it completes: method, URL (without its query string), status and time, never the
 * body (texts are not logged). Errors add a line only when they are the server's fault (5xx); a 4xx shows in the
 * completed line.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      url: loggedUrl(request.url),
      statusCode: reply.statusCode,
      responseTimeMs: Math.round(reply.elapsedTime * 1000) / 1000,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else if (refusalStatuses.has(reply.statusCode)) reply.log.debug(line, 'request refused');
    else reply.log.info(line, 'request completed');
  }

  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if (reply.statusCode >= 500) reply.log.error({ err: error, url: loggedUrl(request.url) }, error.message);
  }
}
