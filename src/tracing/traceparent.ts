import { TraceFlags } from '@opentelemetry/api';
import { RequestTiming } from '../timing/request-timing.js';

/**
 * The W3C traceparent of the first sampled request among a batch's texts (their submission tags), so a model server
 * that traces (Triton does) records the batch inside that request's trace; undefined when none is sampled.
 */
export function traceparentOf(tags: readonly unknown[]): string | undefined {
  for (const tag of tags) {
    const context = tag instanceof RequestTiming ? tag.spanContext : undefined;
    if (context === undefined || (context.traceFlags & TraceFlags.SAMPLED) === 0) continue;
    return `00-${context.traceId}-${context.spanId}-${context.traceFlags.toString(16).padStart(2, '0')}`;
  }
  return undefined;
}
