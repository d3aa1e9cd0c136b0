import type { PackedBatch } from '../engine/packed-batch.js';
import type { TruncationSide } from '../model/character-cut.js';
import type { RejectionReason } from '../errors/rejections.js';

/** What a tokenizer thread needs to load the same tokenizer as the main thread. */
export interface TokenizerThreadConfig {
  modelDir: string;
  maxLength: number;
}

export interface TokenizeJob {
  id: number;
  /** Already cut to what can fit the model (cutCharacters), so a megabyte is not copied to the thread. */
  texts: readonly string[];
  /** Each text's length before the cut. */
  fullLengths: readonly number[];
  truncate: boolean;
  side: TruncationSide;
}

export type FromTokenizerThread =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; encoded: PackedBatch }
  | { type: 'error'; id: number; reason: RejectionReason | undefined; name: string; message: string };
