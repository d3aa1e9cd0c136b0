import { join } from 'node:path';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { RejectionError, TextTooLongError } from '../errors/rejections.js';
import { installBertFastPaths } from './bert-tokenizer-fast-paths.js';
import { charactersPerToken, cutCharacters, type TruncationSide } from './character-cut.js';

type Encoding = ReturnType<PreTrainedTokenizer['_tokenizer']['encode']>;

/** One text as the model sees it; special tokens included, no padding. */
export interface EncodedText {
  ids: readonly number[];
  /** Segment ids where the tokenizer defines them (BERT); engines feed zeros otherwise. */
  typeIds: readonly number[] | undefined;
}

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

  static async load(
    dir: string,
    maxLength: number,
    { fastPaths = true }: { fastPaths?: boolean } = {},
  ): Promise<TextTokenizer> {
    // The service never downloads anything: a model directory is complete or start-up fails.
    env.allowRemoteModels = false;
    let tokenizer: PreTrainedTokenizer;
    try {
      tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
    } catch (error) {
      // transformers.js names neither the directory nor the file it could not use.
      throw new Error(
        `${join(dir, 'tokenizer.json')} (with tokenizer_config.json): cannot load the tokenizer: ${(error as Error).message}`,
      );
    }
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
   * special tokens kept, so a truncated text still ends in [SEP] (transformers.js itself would cut that off). `side`
   * is the end that is cut (truncation_side): `right` keeps the first tokens, `left` the last ones.
   *
   * Before tokenizing, the text is cut by characters to what can possibly fit the model (cutCharacters), so the
   * work per text is bounded whatever it holds: tokenization is word-local (normalizers act on characters,
   * pre-tokenizers split at whitespace and punctuation), so the kept end's tokens are the whole text's tokens there.
   */
  encode(
    text: string,
    textIndex: number,
    truncate: boolean,
    side: TruncationSide = 'right',
    /** The length of the text before a caller cut it already (cutCharacters), so that its cut still counts. */
    fullLength = text.length,
  ): EncodedText {
    const head = cutCharacters(text, this.maxCharacters, side);
    const encoding = this.encodeWhole(head);
    const ids = encoding.ids;
    const typeIds = encoding.token_type_ids;
    const wasCut = head.length < fullLength;
    if (ids.length <= this.maxLength && !wasCut) return { ids, typeIds };
    if (!truncate) {
      if (ids.length > this.maxLength) throw new TextTooLongError(textIndex, ids.length, wasCut, this.maxLength);
      // Mostly whitespace or unknown words: its tokens were not all counted, but it is far over any sane length.
      throw new RejectionError(
        'too_long',
        `text ${textIndex} has ${fullLength} characters, more than the ${this.maxCharacters} that can be tokenized ` +
          `for the model's maximum of ${this.maxLength} tokens; send truncate: true to cut it`,
      );
    }
    if (ids.length <= this.maxLength) return { ids, typeIds };
    const keep = this.maxLength - this.specialPrefix - this.specialSuffix;
    const cut = <T>(values: readonly T[]): T[] => [
      ...values.slice(0, this.specialPrefix),
      ...(side === 'right'
        ? values.slice(this.specialPrefix, this.specialPrefix + keep)
        : values.slice(values.length - this.specialSuffix - keep, values.length - this.specialSuffix)),
      ...values.slice(values.length - this.specialSuffix),
    ];
    return { ids: cut(ids), typeIds: typeIds === undefined ? undefined : cut(typeIds) };
  }

  /** The most characters of one text that are tokenized (see cutCharacters). */
  get maxCharacters(): number {
    return this.maxLength * charactersPerToken;
  }

  private encodeWhole(text: string): Encoding {
    return this.tokenizer._tokenizer.encode(text, { return_token_type_ids: true });
  }
}
