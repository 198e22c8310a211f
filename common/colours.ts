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
