import type { EncodedText } from '../model/tokenizer.js';
import type { FixedShape } from '../config/config.js';

/**
 * A batch on its way from the queue to the engine: every text's ids laid end to end in typed arrays. Built once,
 * when the batcher dispatches the batch; an engine thread receives these buffers transferred, not copied (the
 * structured clone of one number[] per text costs more than the copy into them), and pads them with padBatch.
 */
export interface PackedBatch {
  /** Tokens of each text, in batch order. */
  lengths: Int32Array;
  ids: Int32Array;
  /** Present when the tokenizer gives segment ids (BERT); same layout as ids. */
  typeIds: Int32Array | undefined;
  /** BATCH_SHAPES: the compiled shape to pad up to, rows and columns both; absent: to the longest text. */
  shape?: FixedShape;
}

export function packBatch(batch: readonly EncodedText[], shape?: FixedShape): PackedBatch {
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
  return shape === undefined ? { lengths, ids, typeIds } : { lengths, ids, typeIds, shape };
}

/** The texts back, one array each (tests, and wrappers that keep what they were given). */
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

/** The buffers postMessage may transfer. */
export function buffersOf(packed: PackedBatch): ArrayBuffer[] {
  return [
    packed.lengths.buffer,
    packed.ids.buffer,
    ...(packed.typeIds ? [packed.typeIds.buffer] : []),
  ] as ArrayBuffer[];
}

/** A batch padded to its longest text: row-major [rows × columns] matrices. */
export interface PaddedBatch {
  rows: number;
  columns: number;
  /** padTokenId past each text's end. */
  ids: Int32Array;
  /** 0 past each text's end, and everywhere when the batch has no segment ids. */
  typeIds: Int32Array;
  /** 1 for a real token, 0 for padding. */
  attentionMask: Int32Array;
}

/**
 * The one padding both engines use: texts of different lengths padded to the longest with attention_mask 0, so a
 * text's logits do not depend on what else is in its batch.
 */
export function padBatch(packed: PackedBatch, padTokenId: number): PaddedBatch {
  const texts = packed.lengths.length;
  let columns = 0;
  for (const length of packed.lengths) columns = Math.max(columns, length);
  const rows = Math.max(texts, packed.shape?.rows ?? 0);
  columns = Math.max(columns, packed.shape?.columns ?? 0);
  const ids = new Int32Array(rows * columns).fill(padTokenId);
  const typeIds = new Int32Array(rows * columns);
  const attentionMask = new Int32Array(rows * columns);
  let offset = 0;
  for (let row = 0; row < texts; row++) {
    const length = packed.lengths[row] as number;
    const start = row * columns;
    ids.set(packed.ids.subarray(offset, offset + length), start);
    if (packed.typeIds !== undefined) typeIds.set(packed.typeIds.subarray(offset, offset + length), start);
    attentionMask.fill(1, start, start + length);
    offset += length;
  }
  // Rows that only fill a fixed shape attend to their first token, so no row is all mask (a -inf softmax in some
  // exports); their logits are never read.
  for (let row = texts; row < rows; row++) attentionMask[row * columns] = 1;
  return { rows, columns, ids, typeIds, attentionMask };
}
