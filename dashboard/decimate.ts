export interface Point {
  x: number;
  y: number;
}

/**
 * Thins a series sorted by x to at most ~4 points per bucket while keeping its shape: each
 * bucket (an equal slice of the x range) keeps its first, lowest, highest and last point, in
 * order, so spikes and dips survive however far the chart is zoomed out. Only points with x
 * in [xMin, xMax] are kept, plus the neighbour on each side so lines reach the edges.
 *
 * @example
 * chart.data.datasets[0].data = decimateMinMax(steps, loss, chart.chartArea.width);
 */
export function decimateMinMax(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  buckets: number,
  xMin = -Infinity,
  xMax = Infinity,
): Point[] {
  const n = Math.min(xs.length, ys.length);
  let lo = 0;
  while (lo < n && xs[lo] < xMin) lo++;
  let hi = n;
  while (hi > lo && xs[hi - 1] > xMax) hi--;
  lo = Math.max(0, lo - 1);
  hi = Math.min(n, hi + 1);
  const out: Point[] = [];
  if (hi - lo <= 4 * Math.max(1, buckets)) {
    for (let i = lo; i < hi; i++) if (Number.isFinite(ys[i])) out.push({ x: xs[i], y: ys[i] });
    return out;
  }
  const x0 = xs[lo];
  const width = (xs[hi - 1] - x0) / buckets || 1;
  let i = lo;
  while (i < hi) {
    const bucket = Math.min(buckets - 1, Math.floor((xs[i] - x0) / width));
    const first = i;
    let iMin = -1;
    let iMax = -1;
    let last = -1;
    for (; i < hi && Math.min(buckets - 1, Math.floor((xs[i] - x0) / width)) === bucket; i++) {
      if (!Number.isFinite(ys[i])) continue;
      if (iMin < 0 || ys[i] < ys[iMin]) iMin = i;
      if (iMax < 0 || ys[i] > ys[iMax]) iMax = i;
      last = i;
    }
    if (last < 0) continue;
    const keep = [...new Set([first, iMin, iMax, last])]
      .filter((k) => Number.isFinite(ys[k]))
      .sort((a, b) => a - b);
    for (const k of keep) out.push({ x: xs[k], y: ys[k] });
  }
  return out;
}
