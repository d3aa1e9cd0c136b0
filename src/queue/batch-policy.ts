export interface BatchLimits {
  /** Most texts in one batch. */
  maxBatchSize: number;
  /** Most padded tokens in one batch: longest text × number of texts, which is what the engine computes. */
  maxBatchTokens: number;
  /** Largest share of a batch's padded tokens that may be padding (0..1); 1 turns length grouping off. */
  maxPaddingRatio: number;
}

export interface BatchShape {
  size: number;
  /** longest × size: the tokens the engine computes. */
  paddedTokens: number;
  /** Sum of the texts' own lengths. */
  realTokens: number;
  /** (paddedTokens - realTokens) / paddedTokens. */
  paddingRatio: number;
}

export function shapeOf(lengths: readonly number[]): BatchShape {
  const size = lengths.length;
  const longest = size === 0 ? 0 : Math.max(...lengths);
  const paddedTokens = longest * size;
  const realTokens = lengths.reduce((sum, length) => sum + length, 0);
  return {
    size,
    paddedTokens,
    realTokens,
    paddingRatio: paddedTokens === 0 ? 0 : (paddedTokens - realTokens) / paddedTokens,
  };
}

/**
 * Chooses the next batch from the queue, given each waiting text's length in queue order (oldest first).
 *
 * The oldest text always goes in, so nothing starves behind a stream of newer texts, and a text longer than the
 * token budget still runs (alone). The others are considered closest in length to the oldest first (older first
 * among equals) and join while the batch stays within the size, padded-token and padding-ratio limits; a text
 * that would break a limit is passed over, not the end of the search, since a later, shorter one may still fit.
 * So short texts are not padded to a long one's length, and a long one waits at most until it is the oldest.
 *
 * Returns the chosen queue indices in ascending order.
 */
export function selectBatch(lengths: readonly number[], limits: BatchLimits): number[] {
  const anchor = lengths[0];
  if (anchor === undefined) return [];
  const candidates = lengths
    .map((length, index) => ({ length, index, distance: Math.abs(length - anchor) }))
    .slice(1)
    .sort((a, b) => a.distance - b.distance || a.index - b.index);

  const chosen = [0];
  let longest = anchor;
  let realTokens = anchor;
  for (const candidate of candidates) {
    if (chosen.length >= limits.maxBatchSize) break;
    const nextLongest = Math.max(longest, candidate.length);
    const paddedTokens = nextLongest * (chosen.length + 1);
    if (paddedTokens > limits.maxBatchTokens) continue;
    if ((paddedTokens - realTokens - candidate.length) / paddedTokens > limits.maxPaddingRatio) continue;
    chosen.push(candidate.index);
    longest = nextLongest;
    realTokens += candidate.length;
  }
  return chosen.sort((a, b) => a - b);
}
