import { propagation, ROOT_CONTEXT, SpanKind, type Span, type Tracer } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { endRequestSpan } from '../../tracing/request-spans.js';

/**
 * A server span per request, continuing the caller's W3C traceparent, with tokenize / queue wait / inference children
 * on inference routes; the request's log lines carry its trace_id. Registered only when tracing is on.
 */
export default fp(async function requestTracing(app: FastifyInstance, options: { tracer: Tracer }) {
  const { tracer } = options;
  const spans = new WeakMap<FastifyRequest, Span>();

  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer.startSpan(
      route === undefined ? request.method : `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          // The path only: query strings are not recorded, as they are not logged.
          'url.path': request.url.split('?')[0],
          ...(route === undefined ? {} : { 'http.route': route }),
          'sentiment.request_id': request.id,
        },
      },
      parent,
    );
    spans.set(request, span);
    const spanContext = span.spanContext();
    if (request.timing !== undefined) request.timing.spanContext = spanContext;
    // reply.log is what the per-request line is written with (RequestLog); both carry the ids from here on.
    request.log = request.log.child({ trace_id: spanContext.traceId, span_id: spanContext.spanId });
    reply.log = request.log;
  });

  app.addHook('onResponse', async (request, reply) => {
    const span = spans.get(request);
    if (span === undefined) return;
    span.setAttribute('http.response.status_code', reply.statusCode);
    endRequestSpan(tracer, span, { failed: reply.statusCode >= 500, timing: request.timing });
  });
});
