import type { FastifyError, FastifyInstance } from 'fastify';
import {
  outcomeOf,
  recordError,
  retryAfterFor,
  type ErrorOutcome,
  type RejectionCounter,
} from '../../errors/error-policy.js';

/** The protocol's status and body for an error. */
export type RenderError = (outcome: ErrorOutcome) => { statusCode: number; body: unknown };

/**
 * Sets, in the calling (encapsulated) plugin only, an error handler that answers in that protocol's error shape,
 * with the same bookkeeping and Retry-After as the service's own error handler.
 */
export function useProtocolErrors(app: FastifyInstance, metrics: RejectionCounter, render: RenderError): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const outcome = outcomeOf(error);
    recordError(error, outcome, metrics, request.log);
    const { statusCode, body } = render(outcome);
    const retryAfter = retryAfterFor(statusCode);
    if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
    return reply.code(statusCode).send(body);
  });
}
