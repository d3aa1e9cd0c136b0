import { fittingShape } from './batch-shapes.js';
import type { FixedShape } from '../config/config.js';

export interface BatchLimits {
  /** Most texts in one batch. */
  maxBatchSize: number;
  /** Most padded tokens in one batch: longest text × number of texts, which is what the engine computes. */
  maxBatchTokens: number;
  /** Largest share of a batch's padded tokens that may be padding (0..1); 1 turns length grouping off. */
  maxPaddingRatio: number;
  /** BATCH_SHAPES: every batch must fit one of these and is padded up to it; maxPaddingRatio does not apply. */
  batchShapes?: readonly FixedShape[] | undefined;
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

/** A batch's size and padding; with fixed shapes, padded to the smallest that holds it (its padding rows count). */
export function shapeOf(lengths: readonly number[], shapes?: readonly FixedShape[]): BatchShape {
  const size = lengths.length;
  const longest = size === 0 ? 0 : Math.max(...lengths);
  const fixed = shapes === undefined ? undefined : fittingShape(shapes, size, longest);
  const paddedTokens = fixed === undefined ? longest * size : fixed.rows * fixed.columns;
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
  if (limits.batchShapes !== undefined) return selectForShapes(lengths, limits, limits.batchShapes);
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

/**
 * selectBatch under fixed shapes, as Triton's preferred batch sizes: of the shapes that hold the oldest text (and
 * stay within maxBatchTokens, unless none does), the one that takes the most waiting texts, the fewest padded tokens
 * among equals. A shape's texts are the oldest and those closest to it in length (older first among equals) that
 * fit its sequence length. Padding within a shape costs nothing more, so maxPaddingRatio does not apply.
 */
function selectForShapes(lengths: readonly number[], limits: BatchLimits, shapes: readonly FixedShape[]): number[] {
  const anchor = lengths[0] as number;
  const holdingAnchor = shapes.filter((shape) => shape.columns >= anchor);
  const withinBudget = holdingAnchor.filter((shape) => shape.rows * shape.columns <= limits.maxBatchTokens);
  // A text longer than every shape cannot be padded to one; it runs alone and the engine refuses it.
  const usable = withinBudget.length > 0 ? withinBudget : holdingAnchor.slice(0, 1);
  if (usable.length === 0) return [0];
  const byDistance = lengths
    .map((length, index) => ({ length, index, distance: Math.abs(length - anchor) }))
    .slice(1)
    .sort((a, b) => a.distance - b.distance || a.index - b.index);
  let best: number[] = [0];
  let bestTokens = Infinity;
  for (const shape of usable) {
    const room = Math.min(shape.rows, limits.maxBatchSize);
    const chosen = [0];
    for (const candidate of byDistance) {
      if (chosen.length >= room) break;
      if (candidate.length <= shape.columns) chosen.push(candidate.index);
    }
    const tokens = shape.rows * shape.columns;
    if (chosen.length > best.length || (chosen.length === best.length && tokens < bestTokens)) {
      best = chosen;
      bestTokens = tokens;
    }
  }
  return best.sort((a, b) => a - b);
}
