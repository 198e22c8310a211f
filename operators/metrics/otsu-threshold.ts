/**
 * Otsu's threshold: the value that best splits `values` into two classes, maximising the
 * between-class variance of a `bins`-bin histogram over [min, max]. Values strictly above the
 * returned threshold form the bright class. Non-finite values are ignored; a constant input
 * returns that constant.
 *
 * @example otsuThreshold(Float32Array.of(-1, -1, -0.9, 0.8, 1)); // ≈ -0.05, between the groups
 */
export function otsuThreshold(values: Float32Array, bins = 256): number {
  if (!Number.isInteger(bins) || bins < 2) {
    throw new Error(`bins must be an integer >= 2 (got ${String(bins)})`);
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Infinity) return NaN;
  if (max === min) return min;
  const hist = new Float64Array(bins);
  const scale = bins / (max - min);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    hist[Math.min(bins - 1, Math.floor((v - min) * scale))]++;
    total++;
  }
  let sumAll = 0;
  for (let b = 0; b < bins; b++) sumAll += b * hist[b];
  let w0 = 0;
  let sum0 = 0;
  let best = -1;
  let first = 0;
  let last = 0;
  for (let b = 0; b < bins - 1; b++) {
    w0 += hist[b];
    sum0 += b * hist[b];
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const d = sum0 / w0 - (sumAll - sum0) / w1;
    const between = w0 * w1 * d * d;
    if (between > best) {
      best = between;
      first = b;
      last = b;
    } else if (between === best && last === b - 1) {
      // Empty bins leave the split unchanged: centre the threshold in the gap between classes.
      last = b;
    }
  }
  return min + (first + last + 2) / 2 / scale;
}
