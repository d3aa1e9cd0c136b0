import type { Config, Device, EngineKind } from '../../config/config.js';
import type { PostedError } from '../../errors/error-codes.js';
import type { EncodedText } from '../../model/tokenizer.js';

/** What the engine thread needs to build its engine: the same settings the main thread would use. */
export type EngineThreadConfig = Pick<
  Config,
  'modelDir' | 'dtype' | 'engine' | 'device' | 'intraOpThreads' | 'interOpThreads' | 'tfjsBackend'
>;

/** The engine's identity, sent once it is loaded and warmed up. */
export interface EngineIdentity {
  kind: EngineKind;
  device: Device;
  backend: string;
  numLabels: number;
  skippedBackends: readonly string[];
}

/**
 * A batch on the wire: every text's ids laid end to end in one buffer that is transferred, not copied (the
 * structured clone of one number[] per text costs more than the copy into it).
 */
export interface PackedBatch {
  lengths: Int32Array;
  ids: Int32Array;
  /** Present when the tokenizer gives segment ids (BERT); same layout as ids. */
  typeIds: Int32Array | undefined;
}

export type ToEngineThread = { type: 'run'; id: number; batch: PackedBatch } | { type: 'dispose' };

export type FromEngineThread =
  | { type: 'ready'; identity: EngineIdentity }
  | { type: 'failed'; error: PostedError }
  | { type: 'result'; id: number; logits: Float32Array }
  | { type: 'error'; id: number; error: PostedError };

export function packBatch(batch: readonly EncodedText[]): PackedBatch {
  const lengths = new Int32Array(batch.length);
  let total = 0;
  batch.forEach((text, row) => {
    lengths[row] = text.ids.length;
    total += text.ids.length;
  });
  const withTypes = batch.every((text) => text.typeIds !== undefined);
  const ids = new Int32Array(total);
  const typeIds = withTypes ? new Int32Array(total) : undefined;
  let offset = 0;
  for (const text of batch) {
    ids.set(text.ids, offset);
    if (typeIds !== undefined && text.typeIds !== undefined) typeIds.set(text.typeIds, offset);
    offset += text.ids.length;
  }
  return { lengths, ids, typeIds };
}

export function unpackBatch(packed: PackedBatch): EncodedText[] {
  const batch: EncodedText[] = [];
  let offset = 0;
  for (const length of packed.lengths) {
    const end = offset + length;
    batch.push({
      ids: Array.from(packed.ids.subarray(offset, end)),
      typeIds: packed.typeIds === undefined ? undefined : Array.from(packed.typeIds.subarray(offset, end)),
    });
    offset = end;
  }
  return batch;
}
