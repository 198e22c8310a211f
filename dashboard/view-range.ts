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

/**
 * Round tick values (1, 2 or 5 times a power of ten apart) inside [from, to], about `count`.
 *
 * @example
 * niceTicks(0, 100692, 6) // → [0, 20000, 40000, 60000, 80000, 100000]
 */
export function niceTicks(from: number, to: number, count: number): number[] {
  const span = to - from;
  if (!(span > 0) || count < 1) return [from];
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to + step * 1e-9; t += step) {
    ticks.push(Math.round(t * 1e6) / 1e6);
  }
  return ticks;
}
