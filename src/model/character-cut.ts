/**
 * Which end of an over-long text is kept, named as Hugging Face's `truncation_side` names the end that is cut:
 * `right` keeps the start (the default), `left` keeps the end.
 */
export type TruncationSide = 'right' | 'left';

/**
 * Characters a token is allowed to span, at most, when bounding a text before tokenization. A WordPiece or BPE token
 * is a piece of one word, and English averages well under 8 characters per token, so a window this wide holds far
 * more tokens than the model takes, except for texts made mostly of whitespace or words too long for the vocabulary
 * (which become a single unknown token each). Those are cut all the same: bounded work matters more than the few
 * tokens such a text could still have contributed.
 */
export const charactersPerToken = 16;

/** How far back from the cut a word boundary is looked for, so the cut does not split the last kept word. */
const boundarySearch = 64;

const whitespace = /\s/;

/**
 * The part of `text` that tokenization needs to see: at most `maxCharacters` characters from the kept end, cut at a
 * whitespace when one is near (a word cut in two would tokenize differently), never inside a surrogate pair. No
 * whitespace is needed: a megabyte of punctuation is cut like anything else.
 */
export function cutCharacters(text: string, maxCharacters: number, side: TruncationSide = 'right'): string {
  if (text.length <= maxCharacters) return text;
  if (side === 'right') {
    let end = maxCharacters;
    for (let i = end; i > maxCharacters - boundarySearch && i > 0; i--) {
      if (whitespace.test(text.charAt(i))) {
        end = i;
        break;
      }
    }
    // A high surrogate at the end would be half a character.
    if (isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
    return text.slice(0, end);
  }
  let start = text.length - maxCharacters;
  for (let i = start; i < text.length - maxCharacters + boundarySearch && i < text.length; i++) {
    if (whitespace.test(text.charAt(i - 1))) {
      start = i;
      break;
    }
  }
  if (isLowSurrogate(text.charCodeAt(start))) start += 1;
  return text.slice(start);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
