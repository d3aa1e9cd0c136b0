import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { ServiceMetrics } from '../../metrics/metrics.js';
import { RejectionError, type RejectionReason } from '../../errors/rejections.js';
import { retryAfterSeconds, statusOf } from './error-handler.js';

/**
 * Any error a protocol route can end in, before it is put in that protocol's shape: a known rejection, a request
 * the client got wrong (bad JSON, schema, content type, size; `statusCode` from Fastify or the route), or a fault.
 */
export interface ServiceError {
  kind: RejectionReason | 'invalid_request' | 'internal';
  /** The status the service's own routes answer with (the /analyze mapping). */
  statusCode: number;
  message: string;
  /** Fastify's error code (FST_ERR_VALIDATION: the body did not match the route's schema). */
  code?: string;
}

/** The protocol's status and body for an error. */
export type RenderError = (error: ServiceError) => { statusCode: number; body: unknown };

export function serviceErrorOf(error: FastifyError | Error): ServiceError {
  if (error instanceof RejectionError)
    return { kind: error.reason, statusCode: statusOf[error.reason], message: error.message };
  const statusCode = (error as FastifyError).statusCode;
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return { kind: 'invalid_request', statusCode, message: error.message, code: (error as FastifyError).code };
  }
  return { kind: 'internal', statusCode: 500, message: STATUS_CODES[500] ?? 'Internal Server Error' };
}

/**
 * Sets, in the calling (encapsulated) plugin only, an error handler that answers in that protocol's error shape
 * while counting rejections and sending Retry-After exactly as the service's own error handler does.
 */
export function useProtocolErrors(app: FastifyInstance, metrics: ServiceMetrics, render: RenderError): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const serviceError = serviceErrorOf(error);
    if (error instanceof RejectionError) {
      metrics.rejected(error.reason);
      if (error.reason === 'client_gone') request.log.info('client disconnected before its answer was ready');
    } else if (serviceError.kind === 'internal') {
      request.log.error({ err: error }, 'request failed');
    }
    const { statusCode, body } = render(serviceError);
    if (statusCode === 429 || statusCode === 503) reply.header('retry-after', retryAfterSeconds);
    return reply.code(statusCode).send(body);
  });
}
