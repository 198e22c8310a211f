/**
 * Participation ratio of a weight vector, (Σ wᵢ²)² / Σ wᵢ⁴: the number of axes it effectively
 * uses — 1 for a one-hot vector, the dimension for a uniform one (signs ignored). 0 for an
 * all-zero vector.
 *
 * @example participationRatio([0, 3, 0]); // 1
 * @example participationRatio([1, -1, 1, 1]); // 4
 */
export function participationRatio(w: ArrayLike<number>): number {
  let s2 = 0;
  let s4 = 0;
  for (let i = 0; i < w.length; i++) {
    const v = w[i];
    if (!Number.isFinite(v)) throw new Error(`weights must be finite (got ${v} at ${i})`);
    const q = v * v;
    s2 += q;
    s4 += q * q;
  }
  return s4 > 0 ? (s2 * s2) / s4 : 0;
}

/**
 * The seed's normalised participation ratio (its Fig. 3H), ‖w‖₁ / ‖w‖₂: 1 for a one-hot
 * vector, √d for a uniform one.
 *
 * @example normalizedParticipation([1, 1, 1, 1]); // 2
 */
export function normalizedParticipation(w: ArrayLike<number>): number {
  let l1 = 0;
  let l2 = 0;
  for (let i = 0; i < w.length; i++) {
    const v = w[i];
    if (!Number.isFinite(v)) throw new Error(`weights must be finite (got ${v} at ${i})`);
    l1 += Math.abs(v);
    l2 += v * v;
  }
  return l2 > 0 ? l1 / Math.sqrt(l2) : 0;
}
