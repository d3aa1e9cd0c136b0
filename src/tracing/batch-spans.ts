import { ROOT_CONTEXT, SpanKind, TraceFlags, type Link, type Tracer } from '@opentelemetry/api';
import type { BatcherObserver, BatchReport } from '../queue/batcher.js';
import { RequestTiming } from '../timing/request-timing.js';
import { epochMsOf } from './epoch.js';

export interface EngineLabels {
  kind: string;
  device: string;
  backend: string;
}

/**
 * A span per batch, linked to the span of every sampled request whose texts it ran: a batch serves many requests,
 * so it belongs to none of their traces and starts its own, as OpenTelemetry's links are meant for. A batch that
 * ran no sampled request leaves no span.
 */
export function batchSpans(tracer: Tracer, engine: EngineLabels): Pick<BatcherObserver, 'batchCompleted'> {
  return {
    batchCompleted(report: BatchReport): void {
      const texts = new Map<string, { link: Link; count: number }>();
      for (const tag of report.tags) {
        const context = tag instanceof RequestTiming ? tag.spanContext : undefined;
        if (context === undefined || (context.traceFlags & TraceFlags.SAMPLED) === 0) continue;
        const seen = texts.get(context.spanId);
        if (seen !== undefined) seen.count += 1;
        else texts.set(context.spanId, { link: { context }, count: 1 });
      }
      if (texts.size === 0) return;
      const links = [...texts.values()].map(({ link, count }) => ({
        ...link,
        attributes: { 'sentiment.batch.texts_of_request': count },
      }));
      const span = tracer.startSpan(
        'batch',
        {
          kind: SpanKind.INTERNAL,
          startTime: epochMsOf(report.startedAt),
          links,
          attributes: {
            'sentiment.batch.size': report.size,
            'sentiment.batch.padded_tokens': report.paddedTokens,
            'sentiment.batch.real_tokens': report.realTokens,
            'sentiment.batch.padding_ratio': report.paddingRatio,
            'sentiment.batch.requests': texts.size,
            'sentiment.engine': engine.kind,
            'sentiment.device': engine.device,
            'sentiment.backend': engine.backend,
          },
        },
        ROOT_CONTEXT,
      );
      span.end(epochMsOf(report.finishedAt));
    },
  };
}
