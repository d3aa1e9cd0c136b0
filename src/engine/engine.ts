import type { Metric } from 'prom-client';
import type { Device, EngineKind } from './engine-choices.js';
import type { PackedBatch } from './packed-batch.js';

/**
 * Runs a model on a batch of already tokenized texts. It knows nothing of queues or HTTP: the batcher decides what
 * goes into a batch, the classifier turns logits into labels.
 */
export interface Engine {
  readonly kind: EngineKind;
  readonly device: Device;
  /** The runtime and what it runs on, e.g. "onnxruntime-node 1.30.0 cpu". */
  readonly backend: string;
  readonly numLabels: number;
  /** Runtimes start-up tried and passed over before this one, each with its reason (for the start-up log). */
  readonly skippedBackends: readonly string[];
  /** How many batches it can compute at once (ENGINE_INSTANCES). */
  readonly instances: number;
  /** Set when the engine can no longer run anything (its thread stopped); the liveness probe fails on it. */
  readonly failure: Error | undefined;
  /**
   * Set while the engine cannot run batches for now but may recover by itself (a remote model server that went
   * away): readiness fails and batches are refused with 503, liveness holds. Absent: never.
   */
  readonly unavailable?: Error | undefined;
  /**
   * Logits row-major, texts × numLabels. The engine pads the batch with padBatch (packed-batch.ts), so a text's
   * logits do not depend on what else is in its batch. The batch's buffers may be transferred (detached).
   */
  run(batch: PackedBatch, context?: RunContext): Promise<Float32Array>;
  /** The engine's own metrics (the remote engine's calls), registered beside the service's. */
  readonly metrics?: readonly Metric[];
  dispose(): Promise<void>;
}

/** What a batch carries besides its tokens, for engines that pass it on (the remote engine). */
export interface RunContext {
  /** W3C traceparent of a sampled request in the batch, if any. */
  traceparent?: string | undefined;
}
