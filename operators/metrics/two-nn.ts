import { kNearest, type Neighbours } from './k-nearest.js';
import { rowCount } from './pairwise-distances.js';

/**
 * Intrinsic dimension by TWO-NN (Facco et al. 2017): with μᵢ = r₂/r₁, the ratio of each
 * point's second to first neighbour distance, the maximum-likelihood estimate is
 * d = (M - 1) / Σ log μᵢ over the M usable points. Points with r₁ = 0 (duplicates) or μ = 1 carry
 * no information and are dropped. NaN with fewer than 3 usable points. `neighbours` may pass
 * `kNearest(data, dim, k >= 2)` already computed, to save the O(N²·dim) search.
 *
 * @example twoNN(pointsOnAPlaneIn50D, 50); // ≈ 2
 */
export function twoNN(data: Float32Array, dim: number, neighbours?: Neighbours): number {
  const n = rowCount(data, dim, 'data');
  if (n < 3) return NaN;
  const nn = neighbours ?? kNearest(data, dim, 2);
  if (nn.k < 2 || nn.indices.length !== n * nn.k) {
    throw new Error(`neighbours must come from kNearest(data, dim, k >= 2) on these ${n} rows`);
  }
  let m = 0;
  let sumLog = 0;
  for (let i = 0; i < n; i++) {
    const r1 = nn.distances[i * nn.k];
    const r2 = nn.distances[i * nn.k + 1];
    if (!(r1 > 0) || !(r2 > r1)) continue;
    sumLog += Math.log(r2 / r1);
    m++;
  }
  return m >= 3 && sumLog > 0 ? (m - 1) / sumLog : NaN;
}
