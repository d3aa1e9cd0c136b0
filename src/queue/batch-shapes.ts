import type { FixedShape } from '../config/config.js';

// Batches under BATCH_SHAPES (parsed in src/config/config.ts, smallest shape first): which shape holds a batch.

export function formatShapes(shapes: readonly FixedShape[]): string {
  return shapes.map((shape) => `${shape.rows}x${shape.columns}`).join(',');
}

/** The smallest shape that holds texts of these lengths; undefined without shapes or when none does. */
export function shapeForLengths(
  shapes: readonly FixedShape[] | undefined,
  lengths: ArrayLike<number>,
): FixedShape | undefined {
  if (shapes === undefined) return undefined;
  let longest = 0;
  for (let index = 0; index < lengths.length; index++) longest = Math.max(longest, lengths[index] as number);
  return fittingShape(shapes, lengths.length, longest);
}

/** The smallest shape (fewest padded tokens) that holds `count` texts of at most `longest` tokens, if any does. */
export function fittingShape(shapes: readonly FixedShape[], count: number, longest: number): FixedShape | undefined {
  // Sorted by padded tokens (batchShapeList), so the first that fits is the cheapest.
  return shapes.find((shape) => shape.rows >= count && shape.columns >= longest);
}
