import { rowCount } from './pairwise-distances.js';

/**
 * Projects the rows of `data` onto their top `nComponents` principal axes. It eigen-decomposes
 * whichever is smaller, the dim×dim scatter matrix or the N×N Gram matrix (500 points × 4096
 * dims costs one N²·dim product), by orthogonal power iteration from a fixed start.
 * Deterministic: each axis is signed so its largest-magnitude loading is positive. Components
 * beyond the data's rank come out as zeros. Returns N*nComponents scores, row-major.
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
  const gram = n <= dim;
  const p = gram ? n : dim;
  const S = new Float64Array(p * p);
  if (gram) {
    for (let i = 0; i < n; i++) {
      for (let k = i; k < n; k++) {
        const s = dot(xc, i * dim, k * dim, dim);
        S[i * n + k] = s;
        S[k * n + i] = s;
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < dim; a++) {
        const v = xc[i * dim + a];
        if (v === 0) continue;
        for (let b = a; b < dim; b++) S[a * dim + b] += v * xc[i * dim + b];
      }
    }
    for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) S[a * dim + b] = S[b * dim + a];
  }
  const V = topEigenvectors(S, p, m);
  // Axes in data space (loadings): V itself, or Xcᵀu for the Gram route.
  const axes = new Float64Array(m * dim);
  for (let c = 0; c < m; c++) {
    if (gram) {
      for (let i = 0; i < n; i++) {
        const u = V[c * n + i];
        if (u === 0) continue;
        for (let j = 0; j < dim; j++) axes[c * dim + j] += u * xc[i * dim + j];
      }
    } else {
      for (let j = 0; j < dim; j++) axes[c * dim + j] = V[c * dim + j];
    }
    let norm = 0;
    let big = 0;
    for (let j = 0; j < dim; j++) {
      const a = axes[c * dim + j];
      norm += a * a;
      if (Math.abs(a) > Math.abs(big)) big = a;
    }
    const scale = norm > 1e-24 ? (big < 0 ? -1 : 1) / Math.sqrt(norm) : 0;
    for (let j = 0; j < dim; j++) axes[c * dim + j] *= scale;
  }
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < m; c++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += xc[i * dim + j] * axes[c * dim + j];
      out[i * m + c] = s;
    }
  }
  return out;
}

/** Σ v[a + j]·v[b + j] for j < len, with four accumulators so the JIT can pipeline it. */
function dot(v: Float64Array, a: number, b: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < len; j += 4) {
    s0 += v[a + j] * v[b + j];
    s1 += v[a + j + 1] * v[b + j + 1];
    s2 += v[a + j + 2] * v[b + j + 2];
    s3 += v[a + j + 3] * v[b + j + 3];
  }
  for (; j < len; j++) s0 += v[a + j] * v[b + j];
  return s0 + s1 + s2 + s3;
}

/** The m leading eigenvectors (rows) of the symmetric p×p matrix S by orthogonal iteration. */
function topEigenvectors(S: Float64Array, p: number, m: number): Float64Array {
  let V = new Float64Array(m * p);
  let seed = 0x2545f491;
  for (let i = 0; i < V.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    V[i] = seed / 4294967296 - 0.5;
  }
  orthonormalise(V, m, p);
  for (let iter = 0; iter < 200; iter++) {
    const W = new Float64Array(m * p);
    for (let c = 0; c < m; c++) {
      for (let a = 0; a < p; a++) {
        let s = 0;
        for (let b = 0; b < p; b++) s += S[a * p + b] * V[c * p + b];
        W[c * p + a] = s;
      }
    }
    orthonormalise(W, m, p);
    let change = 0;
    for (let c = 0; c < m; c++) {
      let dot = 0;
      for (let j = 0; j < p; j++) dot += W[c * p + j] * V[c * p + j];
      change = Math.max(change, 1 - Math.abs(dot));
    }
    V = W;
    if (change < 1e-10) break;
  }
  return V;
}

/** Modified Gram–Schmidt on the m rows of V; rows that vanish (rank deficiency) become zero. */
function orthonormalise(V: Float64Array, m: number, p: number): void {
  for (let c = 0; c < m; c++) {
    for (let q = 0; q < c; q++) {
      let dot = 0;
      for (let j = 0; j < p; j++) dot += V[c * p + j] * V[q * p + j];
      for (let j = 0; j < p; j++) V[c * p + j] -= dot * V[q * p + j];
    }
    let norm = 0;
    for (let j = 0; j < p; j++) norm += V[c * p + j] * V[c * p + j];
    norm = Math.sqrt(norm);
    const inv = norm > 1e-12 ? 1 / norm : 0;
    for (let j = 0; j < p; j++) V[c * p + j] *= inv;
  }
}
