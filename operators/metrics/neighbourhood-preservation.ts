import { kNearest, type Neighbours } from './k-nearest.js';
import { rowCount } from './pairwise-distances.js';

/**
 * Mean fraction of each point's k nearest neighbours in space `a` that are also among its k
 * nearest in space `b` (both N rows): 1 when neighbourhoods agree, about k/(N-1) for unrelated
 * spaces. Used between label space (x, y) and activations: an ordered manifold keeps label
 * neighbours together. k is capped at N - 1; 0 with fewer than 2 points. `neighboursB` may pass
 * `kNearest(b, dimB, k' >= k)` already computed (its first k entries are used).
 *
 * @example neighbourhoodPreservation(labels, 2, activations, 256, 10); // 0..1
 */
export function neighbourhoodPreservation(
  a: Float32Array,
  dimA: number,
  b: Float32Array,
  dimB: number,
  k = 10,
  neighboursB?: Neighbours,
): number {
  const n = rowCount(a, dimA, 'a');
  const nb = rowCount(b, dimB, 'b');
  if (nb !== n) throw new Error(`b must have as many rows as a = ${n} (got ${nb})`);
  if (!Number.isInteger(k) || k < 1)
    throw new Error(`k must be a positive integer (got ${String(k)})`);
  if (n < 2) return 0;
  const na = kNearest(a, dimA, k);
  const kk = na.k;
  const nbb = neighboursB ?? kNearest(b, dimB, k);
  if (nbb.k < kk || nbb.indices.length !== n * nbb.k) {
    throw new Error(`neighboursB must come from kNearest(b, dimB, k >= ${kk}) on these ${n} rows`);
  }
  const mark = new Int32Array(n).fill(-1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < kk; j++) mark[nbb.indices[i * nbb.k + j]] = i;
    let hit = 0;
    for (let j = 0; j < kk; j++) if (mark[na.indices[i * kk + j]] === i) hit++;
    total += hit / kk;
  }
  return total / n;
}
