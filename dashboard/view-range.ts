/** A visible step range [from, to], or null for everything. */
export type StepRange = readonly [number, number] | null;

/**
 * Zooms a step range by `factor` (< 1 zooms in) around the point at fraction `at` of its
 * width, within `full`; a range that covers all of `full` becomes null.
 */
export function zoomRange(
  range: StepRange,
  full: readonly [number, number],
  at: number,
  factor: number,
): StepRange {
  const [a, b] = range ?? full;
  const pivot = a + (b - a) * Math.max(0, Math.min(1, at));
  const width = Math.max((b - a) * factor, Math.min(10, full[1] - full[0]));
  let from = pivot - (pivot - a) * (width / (b - a || 1));
  let to = from + width;
  if (from < full[0]) [from, to] = [full[0], full[0] + width];
  if (to > full[1]) [from, to] = [Math.max(full[0], full[1] - width), full[1]];
  return from <= full[0] && to >= full[1] ? null : [from, to];
}

/** Shifts a range by `delta` steps, kept within `full`. */
export function panRange(
  range: StepRange,
  full: readonly [number, number],
  delta: number,
): StepRange {
  if (!range) return null;
  const width = range[1] - range[0];
  const from = Math.max(full[0], Math.min(full[1] - width, range[0] + delta));
  return [from, from + width];
}
