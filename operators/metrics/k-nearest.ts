import { pairwiseDistances, rowCount } from './pairwise-distances.js';

export interface Neighbours {
  /** Neighbours per point. */
  k: number;
  /** N*k indices, nearest first, the point itself excluded; ties broken by lower index. */
  indices: Int32Array;
  /** N*k Euclidean distances matching `indices`. */
  distances: Float64Array;
}

/**
 * Exact k nearest neighbours of every row by brute force (k is capped at N - 1).
 *
 * @example kNearest(Float32Array.of(0, 1, 5), 1, 1).indices; // [1, 0, 1]
 */
export function kNearest(data: Float32Array, dim: number, k: number): Neighbours {
  const n = rowCount(data, dim, 'data');
  if (!Number.isInteger(k) || k < 1) {
    throw new Error(`k must be a positive integer (got ${String(k)})`);
  }
  const kk = Math.min(k, Math.max(0, n - 1));
  const dist = pairwiseDistances(data, dim);
  const indices = new Int32Array(n * kk);
  const distances = new Float64Array(n * kk);
  for (let i = 0; i < n; i++) {
    const base = i * kk;
    let filled = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const d = dist[i * n + j];
      if (filled === kk && d >= distances[base + kk - 1]) continue;
      // Insertion into the sorted k-buffer; strict < keeps earlier indices ahead on ties.
      let p = filled < kk ? filled++ : kk - 1;
      while (p > 0 && d < distances[base + p - 1]) {
        distances[base + p] = distances[base + p - 1];
        indices[base + p] = indices[base + p - 1];
        p--;
      }
      distances[base + p] = d;
      indices[base + p] = j;
    }
  }
  return { k: kk, indices, distances };
}
