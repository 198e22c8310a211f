import type { Phase } from '../streams/events.js';

/** The colour of each phase, the same in the dashboard and in `phasewatch report`'s figures. */
export const PHASE_COLORS: Record<Phase, string> = {
  A: '#9ca3af',
  B: '#f59e0b',
  C: '#16a34a',
};

export const PHASE_NAMES: Record<Phase, string> = {
  A: 'A · no structure',
  B: 'B · 2-D, disordered',
  C: 'C · 2-D, ordered',
};

/** Sample marks: where the label says the bump should be, and where one was found. */
export const MARK_COLORS = { label: '#22d3ee', found: '#f43f5e' } as const;

/** Perceptually ordered stops of the continuous colour scale (viridis), as RGB. */
export const COLORMAP_STOPS: ReadonlyArray<readonly [number, number, number]> = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** Colour for t in [0, 1] (clamped) on the continuous scale, as `rgb(r,g,b)`. */
export function colormap(t: number): string {
  const stops = COLORMAP_STOPS;
  const u = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(u));
  const f = u - i;
  const c = stops[i].map((v, k) => Math.round(v + f * (stops[i + 1][k] - v)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/**
 * `rgba(...)` of a `#rrggbb` or `rgb(r,g,b)` colour with opacity `alpha` (for faint raw lines
 * under smoothed ones).
 */
export function withAlpha(hex: string, alpha: number): string {
  const rgb = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(hex);
  if (rgb) return `rgba(${rgb[1]},${rgb[2]},${rgb[3]},${alpha})`;
  const n = parseInt(hex.slice(1, 7), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}
