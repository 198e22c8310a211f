/**
 * Euclidean distances between all rows of `data` (N rows of `dim` values), as an N×N
 * row-major Float64Array. Differences are summed directly (not |a|²+|b|²-2a·b) so duplicate rows
 * give exactly 0. O(N²·dim) time, N² memory: fine for the ~500-point snapshots.
 *
 * @example pairwiseDistances(Float32Array.of(0, 0, 3, 4), 2); // [0, 5, 5, 0]
 */
export function pairwiseDistances(data: Float32Array, dim: number): Float64Array {
  const n = rowCount(data, dim, 'data');
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const a = i * dim;
    for (let j = i + 1; j < n; j++) {
      const b = j * dim;
      let s = 0;
      for (let k = 0; k < dim; k++) {
        const d = data[a + k] - data[b + k];
        s += d * d;
      }
      const r = Math.sqrt(s);
      out[i * n + j] = r;
      out[j * n + i] = r;
    }
  }
  return out;
}

/** Rows in `data` for `dim` columns; throws a one-line error when they do not fit. */
export function rowCount(data: Float32Array, dim: number, field: string): number {
  if (!Number.isInteger(dim) || dim < 1) {
    throw new Error(`dim must be a positive integer (got ${String(dim)})`);
  }
  if (data.length % dim !== 0) {
    throw new Error(`${field} length must be a multiple of dim = ${dim} (got ${data.length})`);
  }
  return data.length / dim;
}
