/**
 * Cosines between consecutive steps of a trajectory (N points of `dim` values, row-major):
 * with dₜ = fₜ₊₁ − fₜ, cₜ = dₜ·dₜ₊₁ / (‖dₜ‖‖dₜ₊₁‖) (Hénaff et al.'s discrete curvature, as the
 * seed uses it), N − 2 values. A zero-length step makes its cosines 0.
 *
 * @example stepCosines(Float32Array.of(0, 0, 1, 0, 1, 1), 2); // [0] (a right angle)
 */
export function stepCosines(points: Float32Array | Float64Array, dim: number): Float64Array {
  if (!Number.isInteger(dim) || dim < 1)
    throw new Error(`dim must be a positive integer (got ${String(dim)})`);
  if (points.length % dim !== 0) {
    throw new Error(`points length must be a multiple of dim = ${dim} (got ${points.length})`);
  }
  const n = points.length / dim;
  const out = new Float64Array(Math.max(0, n - 2));
  for (let t = 0; t + 2 < n; t++) {
    let dot = 0;
    let a2 = 0;
    let b2 = 0;
    for (let k = 0; k < dim; k++) {
      const a = points[(t + 1) * dim + k] - points[t * dim + k];
      const b = points[(t + 2) * dim + k] - points[(t + 1) * dim + k];
      dot += a * b;
      a2 += a * a;
      b2 += b * b;
    }
    out[t] = a2 > 0 && b2 > 0 ? Math.max(-1, Math.min(1, dot / Math.sqrt(a2 * b2))) : 0;
  }
  return out;
}

/**
 * Straightness of a trajectory: the mean cosine of consecutive differences (1 for points on a
 * line walked one way, −1 for back-and-forth); needs at least 3 points.
 *
 * @example straightness(Float32Array.of(0, 0, 1, 1, 3, 3), 2); // 1
 */
export function straightness(points: Float32Array | Float64Array, dim: number): number {
  const c = stepCosines(points, dim);
  if (c.length === 0) {
    throw new Error(
      `straightness needs at least 3 points (got ${points.length / Math.max(dim, 1)})`,
    );
  }
  return c.reduce((s, v) => s + v, 0) / c.length;
}
