import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { TextTooLongError } from '../errors/rejections.js';
import { installBertFastPaths } from './bert-tokenizer-fast-paths.js';

type Encoding = ReturnType<PreTrainedTokenizer['_tokenizer']['encode']>;

/** One text as the model sees it; special tokens included, no padding. */
export interface EncodedText {
  ids: readonly number[];
  /** Segment ids where the tokenizer defines them (BERT); engines feed zeros otherwise. */
  typeIds: readonly number[] | undefined;
}

/** Which end of an over-long text is cut (TEI's truncation_direction, Hugging Face's truncation_side). */
export type TruncationSide = 'right' | 'left';

/** Text -> token ids for one model directory, always offline, with Hugging Face's truncation semantics. */
export class TextTokenizer {
  private constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    readonly maxLength: number,
    readonly padTokenId: number,
    /** Special tokens the post-processor puts before and after a single sequence ([CLS] … [SEP]: 1 and 1). */
    private readonly specialPrefix: number,
    private readonly specialSuffix: number,
  ) {}

  static async load(dir: string, maxLength: number, { fastPaths = true }: { fastPaths?: boolean } = {}): Promise<TextTokenizer> {
    // The service never downloads anything: a model directory is complete or start-up fails.
    env.allowRemoteModels = false;
    const tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
    if (fastPaths) installBertFastPaths(tokenizer._tokenizer as unknown as Parameters<typeof installBertFastPaths>[0]);
    const marker = '\u0000text\u0000';
    const template = tokenizer._tokenizer.post_processor?.([marker], null, true).tokens ?? [marker];
    const prefix = template.indexOf(marker);
    const suffix = template.length - prefix - 1;
    if (prefix < 0 || prefix + suffix >= maxLength) {
      throw new Error(`tokenizer in ${dir}: cannot place ${template.length - 1} special tokens within ${maxLength}`);
    }
    // Models without a pad token (some RoBERTa ports) still pad with something; attention_mask 0 hides it.
    const padTokenId = typeof tokenizer.pad_token_id === 'number' ? tokenizer.pad_token_id : 0;
    return new TextTokenizer(tokenizer, maxLength, padTokenId, prefix, suffix);
  }

  /**
   * Over-long texts are cut as Hugging Face's truncation=True does: the text's own tokens are shortened and the
   * special tokens kept, so a truncated text still ends in [SEP] (transformers.js itself would cut that off).
   */
  encode(text: string, textIndex: number, truncate: boolean, side: TruncationSide = 'right'): EncodedText {
    const { encoding, headOnly } = this.encodeAtMostNeeded(text, side);
    const ids = encoding.ids;
    const typeIds = encoding.token_type_ids;
    if (ids.length <= this.maxLength) return { ids, typeIds };
    if (!truncate) throw new TextTooLongError(textIndex, ids.length, headOnly, this.maxLength);
    const keep = this.maxLength - this.specialPrefix - this.specialSuffix;
    const cut = <T>(values: readonly T[]): T[] =>
      side === 'left'
        ? [...values.slice(0, this.specialPrefix), ...values.slice(values.length - this.specialSuffix - keep)]
        : [...values.slice(0, this.specialPrefix + keep), ...values.slice(values.length - this.specialSuffix)];
    return { ids: cut(ids), typeIds: typeIds === undefined ? undefined : cut(typeIds) };
  }

  /**
   * A very long text is first tokenized only up to a whitespace well past what the model can take. Tokenization is
   * word-local (normalizers act on characters, pre-tokenizers split at whitespace), so that head's tokens are the
   * whole text's first tokens; when they already overflow the model, truncating them gives what truncating the whole
   * text gives, and the rest is never tokenized. This keeps a 1 MB body from holding the event loop for most of a
   * second. Cutting from the left keeps the last tokens, so then it is the tail, from a whitespace, that is tokenized.
   */
  private encodeAtMostNeeded(text: string, side: TruncationSide): { encoding: Encoding; headOnly: boolean } {
    const headChars = this.maxLength * 16;
    if (text.length > headChars * 2 && side === 'left') {
      let start = text.length - headChars;
      while (start > 0 && !/\s/.test(text[start - 1] as string)) start -= 1;
      if (start > 0) {
        const tail = text.slice(start);
        const encoding = this.encodeWhole(tail);
        // Without the space before it, the tail's first word may tokenize differently (byte-level BPE): only when
        // the tail is long enough for that word to be cut off as well is the tail as good as the whole text.
        const firstWordTokens = this.encodeWhole(/^\S*/.exec(tail)?.[0] ?? '').ids.length;
        if (encoding.ids.length > this.maxLength + firstWordTokens) return { encoding, headOnly: true };
      }
    } else if (text.length > headChars * 2) {
      const whitespace = /\s/g;
      whitespace.lastIndex = headChars;
      const boundary = whitespace.exec(text);
      if (boundary !== null) {
        const encoding = this.encodeWhole(text.slice(0, boundary.index));
        if (encoding.ids.length > this.maxLength) return { encoding, headOnly: true };
      }
    }
    return { encoding: this.encodeWhole(text), headOnly: false };
  }

  private encodeWhole(text: string): Encoding {
    return this.tokenizer._tokenizer.encode(text, { return_token_type_ids: true });
  }
}
