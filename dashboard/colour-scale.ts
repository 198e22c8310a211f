import { colormap } from './projection.js';
import { categoryColor } from './theme.js';

export interface ColourScale {
  kind: 'continuous' | 'categorical';
  min: number;
  max: number;
  /** The distinct values, sorted, when categorical. */
  categories: number[];
  colour(value: number): string;
}

/**
 * A colour scale for one field's values: categorical (one distinct colour each) when they are
 * class indices — the integers 0, 1, …, k-1 with k at most `maxCategories`; any other numbers
 * (positions such as 2, 4, 6, however few) get the continuous scale stretched over [min, max]
 * of the finite values.
 *
 * @example
 * colourScale([0, 1, 2, 1]).kind      // → 'categorical'
 * colourScale([0.5, 3.25, 7]).colour(7) // → the top colour of the continuous scale
 */
export function colourScale(values: ArrayLike<number>, maxCategories = 10): ColourScale {
  let min = Infinity;
  let max = -Infinity;
  const distinct = new Set<number>();
  let integers = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    min = Math.min(min, v);
    max = Math.max(max, v);
    if (!Number.isInteger(v)) integers = false;
    else if (distinct.size <= maxCategories) distinct.add(v);
  }
  if (min > max) [min, max] = [0, 1];
  const categories = [...distinct].sort((a, b) => a - b);
  const indices = categories.every((v, i) => v === i);
  if (integers && indices && distinct.size > 0 && distinct.size <= maxCategories) {
    const index = new Map(categories.map((v, i) => [v, i]));
    return {
      kind: 'categorical',
      min,
      max,
      categories,
      colour: (v) => categoryColor(index.get(v) ?? 0),
    };
  }
  const span = max - min || 1;
  return {
    kind: 'continuous',
    min,
    max,
    categories: [],
    colour: (v) => colormap((v - min) / span),
  };
}
/**
 * Colours for the distinct values of a swept key: ordered numbers along the continuous scale
 * by rank (so 0.25, 0.5, 1, 2 are told apart as well as 1, 2, 3, 4; the palest end is left
 * out, it vanishes on white), anything else one categorical colour each.
 */
export function valueColours(values: readonly unknown[]): string[] {
  const numeric = values.every((v) => typeof v === 'number' && Number.isFinite(v));
  if (!numeric) return values.map((_, i) => categoryColor(i));
  const k = values.length;
  return values.map((_, i) => colormap(k > 1 ? (0.85 * i) / (k - 1) : 0));
}
