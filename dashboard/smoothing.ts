/**
 * Exponential moving average as TensorBoard draws it: each point is the weighted mean of the
 * points so far, weights decaying by `weight` per point, divided by the sum of the weights so
 * the first points are not pulled towards zero (debiased). `weight` 0 returns the series
 * unchanged; non-finite values are passed through and do not disturb the average.
 *
 * @example
 * smoothEma([1, 1, 1], 0.9) // → [1, 1, 1] (debiased: no ramp up from 0)
 */
export function smoothEma(ys: ArrayLike<number>, weight: number): number[] {
  if (!(weight >= 0 && weight < 1)) {
    throw new Error(`smoothing weight must be in [0, 1) (got ${String(weight)})`);
  }
  const out = new Array<number>(ys.length);
  let last = 0;
  let norm = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (!Number.isFinite(y)) {
      out[i] = y;
      continue;
    }
    last = last * weight + (1 - weight) * y;
    norm = norm * weight + (1 - weight);
    out[i] = last / norm;
  }
  return out;
}
