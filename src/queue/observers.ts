import type { BatcherObserver, BatchReport } from './batcher.js';

/** One observer that tells each of several (metrics, timing headers, tracing), in order. */
export function allObservers(...observers: (Partial<BatcherObserver> | undefined)[]): BatcherObserver {
  const present = observers.filter((observer) => observer !== undefined);
  return {
    queueDepthChanged(depth: number): void {
      for (const observer of present) observer.queueDepthChanged?.(depth);
    },
    batchCompleted(report: BatchReport): void {
      for (const observer of present) observer.batchCompleted?.(report);
    },
  };
}
