import { rowCount } from './pairwise-distances.js';

/**
 * R² of the ordinary least-squares fit (with intercept) of `y` on the `d` columns of `X`
 * (N rows, row-major), via the normal equations with a tiny ridge so collinear columns do not
 * blow up. Clamped to [0, 1]; 0 when `y` is constant or there are fewer than 2 points.
 *
 * @example linearR2(Float32Array.of(0, 1, 2, 3), 1, Float32Array.of(1, 3, 5, 7)); // 1
 */
export function linearR2(X: Float32Array, d: number, y: Float32Array): number {
  const n = rowCount(X, d, 'X');
  if (y.length !== n)
    throw new Error(`y must have one value per row of X = ${n} (got ${y.length})`);
  if (n < 2) return 0;
  const mx = new Float64Array(d);
  let my = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) mx[j] += X[i * d + j];
    my += y[i];
  }
  for (let j = 0; j < d; j++) mx[j] /= n;
  my /= n;
  // A = XcᵀXc (d×d), b = Xcᵀyc on centred data: the intercept drops out.
  const A = new Float64Array(d * d);
  const b = new Float64Array(d);
  const row = new Float64Array(d);
  let sst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = X[i * d + j] - mx[j];
    const yc = y[i] - my;
    sst += yc * yc;
    for (let j = 0; j < d; j++) {
      b[j] += row[j] * yc;
      for (let k = j; k < d; k++) A[j * d + k] += row[j] * row[k];
    }
  }
  if (!(sst > 0)) return 0;
  let trace = 0;
  for (let j = 0; j < d; j++) {
    for (let k = 0; k < j; k++) A[j * d + k] = A[k * d + j];
    trace += A[j * d + j];
  }
  const ridge = 1e-9 * (trace / d) + 1e-12;
  for (let j = 0; j < d; j++) A[j * d + j] += ridge;
  const beta = solveSpd(A, b, d);
  let ssr = 0;
  for (let i = 0; i < n; i++) {
    let pred = 0;
    for (let j = 0; j < d; j++) pred += beta[j] * (X[i * d + j] - mx[j]);
    const e = y[i] - my - pred;
    ssr += e * e;
  }
  const r2 = 1 - ssr / sst;
  return Number.isFinite(r2) ? Math.min(1, Math.max(0, r2)) : 0;
}

/** Solves A x = b for symmetric positive (semi-)definite A by Cholesky; zero pivots give 0. */
export function solveSpd(A: Float64Array, b: Float64Array, d: number): Float64Array {
  const L = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    let s = A[j * d + j];
    for (let k = 0; k < j; k++) s -= L[j * d + k] * L[j * d + k];
    const pivot = s > 0 ? Math.sqrt(s) : 0;
    L[j * d + j] = pivot;
    for (let i = j + 1; i < d; i++) {
      let t = A[i * d + j];
      for (let k = 0; k < j; k++) t -= L[i * d + k] * L[j * d + k];
      L[i * d + j] = pivot > 0 ? t / pivot : 0;
    }
  }
  const z = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * d + k] * z[k];
    z[i] = L[i * d + i] > 0 ? s / L[i * d + i] : 0;
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < d; k++) s -= L[k * d + i] * x[k];
    x[i] = L[i * d + i] > 0 ? s / L[i * d + i] : 0;
  }
  return x;
}
