/**
 * Faster, output-identical versions of the two hot spots of transformers.js's BERT tokenization, installed on a
 * loaded tokenizer's own objects. Under load they were most of the time tokenizing took on the main thread
 * (bench/README.md, "Numbers behind choices in the code"): WordPiece builds every candidate sub-word with
 * `chars.slice(start, end).join('')`, and the BERT normalizer walks each text one code point at a time through
 * Unicode regexes. Each fast path either computes exactly what the original computes or hands the input to it;
 * test/model/bert-tokenizer-fast-paths.test.ts checks that on SST-2 dev, the benchmark sentences and edge cases.
 */

/** The parts of transformers.js's WordPiece model that its encode() reads. */
interface WordPieceModel {
  config: { type?: string; continuing_subword_prefix?: string };
  tokens_to_ids: Map<string, number>;
  unk_token: string;
  max_input_chars_per_word: number;
  encode(tokens: string[]): string[];
}

/** The parts of transformers.js's BertNormalizer that its normalize() reads. */
interface BertNormalizer {
  config: { type?: string; clean_text?: boolean; lowercase?: boolean };
  normalize(text: string): string;
}

function isWordPiece(model: unknown): model is WordPieceModel {
  const candidate = model as Partial<WordPieceModel> | undefined;
  return (
    candidate?.config?.type === 'WordPiece' &&
    candidate.tokens_to_ids instanceof Map &&
    typeof candidate.unk_token === 'string' &&
    typeof candidate.max_input_chars_per_word === 'number' &&
    typeof candidate.encode === 'function'
  );
}

function isBertNormalizer(normalizer: unknown): normalizer is BertNormalizer {
  const candidate = normalizer as Partial<BertNormalizer> | undefined;
  return candidate?.config?.type === 'BertNormalizer' && typeof candidate.normalize === 'function';
}

/**
 * WordPiece's greedy longest-match-first, as transformers.js does it, with two changes that cannot alter the
 * result: a word that is itself in the vocabulary is taken at once (the first candidate the original tries), and
 * candidates are cut from the string at code-point boundaries instead of joined from an array of characters.
 */
function fastWordPieceEncode(model: WordPieceModel): (tokens: string[]) => string[] {
  const vocab = model.tokens_to_ids;
  const prefix = model.config.continuing_subword_prefix ?? '';
  const unk = model.unk_token;
  const maxChars = model.max_input_chars_per_word;
  return (tokens) => {
    const output: string[] = [];
    for (const token of tokens) {
      // token.length counts UTF-16 units, never fewer than code points, so this word is short enough as well.
      if (token.length <= maxChars && vocab.has(token)) {
        output.push(token);
        continue;
      }
      const boundaries = [0];
      for (const char of token) boundaries.push((boundaries.at(-1) as number) + char.length);
      const chars = boundaries.length - 1;
      if (chars > maxChars) {
        output.push(unk);
        continue;
      }
      const pieces: string[] = [];
      let start = 0;
      let unknown = false;
      while (start < chars) {
        let end = chars;
        let piece: string | undefined;
        while (start < end) {
          const candidate = token.slice(boundaries[start], boundaries[end]);
          const key = start > 0 ? prefix + candidate : candidate;
          if (vocab.has(key)) {
            piece = key;
            break;
          }
          end -= 1;
        }
        if (piece === undefined) {
          unknown = true;
          break;
        }
        pieces.push(piece);
        start = end;
      }
      if (unknown) output.push(unk);
      else output.push(...pieces);
    }
    return output;
  };
}

/**
 * ASCII text through the BERT normalizer: NUL and the other control characters except tab, newline and carriage
 * return are dropped, those three become spaces (clean_text); no ASCII character is a CJK ideograph or carries an
 * accent; lowercasing is toLowerCase either way. Anything else goes to the original.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this pattern finds.
const nonAscii = /[^\x00-\x7f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this pattern finds.
const asciiControls = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;
const asciiWhitespaceToSpace = /[\t\n\r]/g;

function fastBertNormalize(normalizer: BertNormalizer): (text: string) => string {
  const original = normalizer.normalize.bind(normalizer);
  const { clean_text: cleanText, lowercase } = normalizer.config;
  return (text) => {
    if (nonAscii.test(text)) return original(text);
    let normalized = text;
    if (cleanText) normalized = normalized.replace(asciiControls, '').replace(asciiWhitespaceToSpace, ' ');
    if (lowercase) normalized = normalized.toLowerCase();
    return normalized;
  };
}

/**
 * Installs the fast paths on a transformers.js Tokenizer object (PreTrainedTokenizer._tokenizer) where its model
 * is WordPiece and its normalizer BERT's; other tokenizers are left as they are. Returns what was installed.
 */
export function installBertFastPaths(tokenizer: { model?: unknown; normalizer?: unknown }): string[] {
  const installed: string[] = [];
  if (isWordPiece(tokenizer.model)) {
    tokenizer.model.encode = fastWordPieceEncode(tokenizer.model);
    installed.push('WordPiece');
  }
  if (isBertNormalizer(tokenizer.normalizer)) {
    tokenizer.normalizer.normalize = fastBertNormalize(tokenizer.normalizer);
    installed.push('BertNormalizer');
  }
  return installed;
}
