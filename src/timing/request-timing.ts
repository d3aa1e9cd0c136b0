import type { SpanContext } from '@opentelemetry/api';
import type { BatchReport } from '../queue/batcher.js';

/** The headers TEI's router sends with each answer, in whole milliseconds (it truncates, so under 1 ms reads 0). */
export const timingHeaderNames = [
  'x-total-time',
  'x-tokenization-time',
  'x-queue-time',
  'x-inference-time',
  'x-compute-tokens',
] as const;

export interface BatchRun {
  /** performance.now() instants. */
  startedAt: number;
  finishedAt: number;
  inferenceSeconds: number;
}

/**
 * Where one request's time went: tokenization, then per text the queue and the batch it ran in. Filled by the
 * classifier (tokenization) and the batcher's report (queue, inference); read by the timing headers and the trace.
 */
export class RequestTiming {
  tokenizationStartedAt: number | undefined;
  tokenizedAt: number | undefined;
  /** Tokens of the request's texts, as the model sees them (special tokens included, after truncation). */
  computeTokens = 0;
  /** Texts computed so far. */
  textsRan = 0;
  /** When the first text entered the queue, and the span of the batches that ran the request's texts. */
  queuedAt: number | undefined;
  firstBatchStartedAt: number | undefined;
  lastBatchStartedAt: number | undefined;
  lastBatchFinishedAt: number | undefined;
  private queueSeconds = 0;
  private inferenceSeconds = 0;
  /** The request's span, which batch spans link to; set only when tracing is on. */
  spanContext: SpanContext | undefined;

  tokenized(startedAt: number, endedAt: number, tokenCounts: readonly number[]): void {
    this.tokenizationStartedAt = startedAt;
    this.tokenizedAt = endedAt;
    this.computeTokens = tokenCounts.reduce((sum, count) => sum + count, 0);
  }

  /** One of the request's texts ran in a batch after waiting queueWaitSeconds. */
  textRan(queueWaitSeconds: number, batch: BatchRun): void {
    this.textsRan += 1;
    this.queueSeconds += queueWaitSeconds;
    this.inferenceSeconds += batch.inferenceSeconds;
    const queuedAt = batch.startedAt - queueWaitSeconds * 1000;
    this.queuedAt = Math.min(this.queuedAt ?? queuedAt, queuedAt);
    this.firstBatchStartedAt = Math.min(this.firstBatchStartedAt ?? batch.startedAt, batch.startedAt);
    this.lastBatchStartedAt = Math.max(this.lastBatchStartedAt ?? batch.startedAt, batch.startedAt);
    this.lastBatchFinishedAt = Math.max(this.lastBatchFinishedAt ?? batch.finishedAt, batch.finishedAt);
  }

  /**
   * TEI's headers, once the texts have run. Queue and inference time are the mean over the request's texts, as TEI
   * reports a batch request; tokenization is the request's own (its texts are tokenized together).
   */
  headers(totalMs: number): Record<(typeof timingHeaderNames)[number], string> | undefined {
    if (this.textsRan === 0) return undefined;
    const ms = (value: number): string => String(Math.max(0, Math.floor(value)));
    const tokenizationMs =
      this.tokenizedAt === undefined ? 0 : this.tokenizedAt - (this.tokenizationStartedAt ?? this.tokenizedAt);
    return {
      'x-total-time': ms(totalMs),
      'x-tokenization-time': ms(tokenizationMs),
      'x-queue-time': ms((this.queueSeconds / this.textsRan) * 1000),
      'x-inference-time': ms((this.inferenceSeconds / this.textsRan) * 1000),
      'x-compute-tokens': String(this.computeTokens),
    };
  }
}

/** Hands each batch's queue and inference times to the RequestTiming its texts were submitted with (the tag). */
export function recordBatchTimings(report: BatchReport): void {
  report.tags.forEach((tag, position) => {
    if (tag instanceof RequestTiming) tag.textRan(report.queueWaitSeconds[position] ?? 0, report);
  });
}
