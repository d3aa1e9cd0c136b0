import { ROOT_CONTEXT, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { RequestTiming } from '../timing/request-timing.js';
import { epochMsOf } from './epoch.js';

/** Children of the request span, drawn from what its RequestTiming recorded once the answer is sent. */
function timingSpans(tracer: Tracer, parent: Span, timing: RequestTiming): void {
  const context = trace.setSpan(ROOT_CONTEXT, parent);
  const child = (name: string, start: number | undefined, end: number | undefined, attributes = {}): void => {
    if (start === undefined || end === undefined) return;
    tracer.startSpan(name, { startTime: epochMsOf(start), attributes }, context).end(epochMsOf(end));
  };
  child('tokenize', timing.tokenizationStartedAt, timing.tokenizedAt, {
    'sentiment.compute_tokens': timing.computeTokens,
  });
  // From the first text queued to the last batch that took one of them: the request's whole wait for the engine.
  child('queue wait', timing.queuedAt, timing.lastBatchStartedAt);
  child('inference', timing.firstBatchStartedAt, timing.lastBatchFinishedAt, { 'sentiment.texts': timing.textsRan });
}

/**
 * Ends a request's server span, whatever its transport (HTTP, gRPC): an error status for a fault of the service
 * (HTTP status 5xx or its gRPC equivalent), and on inference requests tokenize / queue wait / inference children.
 */
export function endRequestSpan(
  tracer: Tracer,
  span: Span,
  answer: { failed: boolean; timing: RequestTiming | undefined },
): void {
  if (answer.failed) span.setStatus({ code: SpanStatusCode.ERROR });
  if (answer.timing !== undefined) {
    span.setAttribute('sentiment.compute_tokens', answer.timing.computeTokens);
    timingSpans(tracer, span, answer.timing);
  }
  span.end();
}
