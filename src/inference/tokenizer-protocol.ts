import type { TruncationSide } from '../model/character-cut.js';

/** What a tokenizer thread needs to load the same tokenizer as the main thread. */
export interface TokenizerThreadConfig {
  modelDir: string;
  maxLength: number;
}

/** One request's texts (the messages are the WorkerPool's). */
export interface TokenizeJob {
  /** Already cut to what can fit the model (cutCharacters), so a megabyte is not copied to the thread. */
  texts: readonly string[];
  /** Each text's length before the cut. */
  fullLengths: readonly number[];
  truncate: boolean;
  side: TruncationSide;
}
