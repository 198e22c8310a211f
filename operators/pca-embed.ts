import { rowCount } from './pairwise-distances.js';

/**
 * Projects the rows of `data` onto their top `nComponents` principal axes by orthogonal
 * (subspace) power iteration, without forming the dim×dim covariance. Deterministic: a fixed
 * start and each axis signed so its largest-magnitude loading is positive. Components beyond the
 * data's rank come out as zeros. Returns N*nComponents scores, row-major.
 *
 * @example pcaEmbed(activations, 256, 3); // Float32Array(N*3)
 */
export function pcaEmbed(data: Float32Array, dim: number, nComponents = 3): Float32Array {
  const n = rowCount(data, dim, 'data');
  if (!Number.isInteger(nComponents) || nComponents < 1) {
    throw new Error(`nComponents must be a positive integer (got ${String(nComponents)})`);
  }
  const m = nComponents;
  const out = new Float32Array(n * m);
  if (n === 0) return out;
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += data[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= n;
  const xc = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) xc[i * dim + j] = data[i * dim + j] - mean[j];
  }
  // V holds m axes of length dim; a fixed pseudo-random start keeps runs reproducible.
  let V = new Float64Array(m * dim);
  let s = 0x2545f491;
  for (let i = 0; i < V.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    V[i] = s / 4294967296 - 0.5;
  }
  orthonormalise(V, m, dim);
  const proj = new Float64Array(n * m);
  for (let iter = 0; iter < 300; iter++) {
    project(xc, n, dim, V, m, proj);
    const W = new Float64Array(m * dim);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < m; c++) {
        const p = proj[i * m + c];
        if (p === 0) continue;
        for (let j = 0; j < dim; j++) W[c * dim + j] += p * xc[i * dim + j];
      }
    }
    orthonormalise(W, m, dim);
    let change = 0;
    for (let c = 0; c < m; c++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += W[c * dim + j] * V[c * dim + j];
      change = Math.max(change, 1 - Math.abs(dot));
    }
    V = W;
    if (change < 1e-10) break;
  }
  for (let c = 0; c < m; c++) {
    let big = 0;
    for (let j = 0; j < dim; j++)
      if (Math.abs(V[c * dim + j]) > Math.abs(big)) big = V[c * dim + j];
    if (big < 0) for (let j = 0; j < dim; j++) V[c * dim + j] = -V[c * dim + j];
  }
  project(xc, n, dim, V, m, proj);
  for (let i = 0; i < n * m; i++) out[i] = proj[i];
  return out;
}

function project(
  xc: Float64Array,
  n: number,
  dim: number,
  V: Float64Array,
  m: number,
  out: Float64Array,
): void {
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < m; c++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += xc[i * dim + j] * V[c * dim + j];
      out[i * m + c] = s;
    }
  }
}

/** Modified Gram–Schmidt on the m rows of V; rows that vanish (rank deficiency) become zero. */
function orthonormalise(V: Float64Array, m: number, dim: number): void {
  for (let c = 0; c < m; c++) {
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += V[c * dim + j] * V[p * dim + j];
      for (let j = 0; j < dim; j++) V[c * dim + j] -= dot * V[p * dim + j];
    }
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += V[c * dim + j] * V[c * dim + j];
    norm = Math.sqrt(norm);
    const inv = norm > 1e-12 ? 1 / norm : 0;
    for (let j = 0; j < dim; j++) V[c * dim + j] *= inv;
  }
}
