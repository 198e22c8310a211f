import { rowCount } from './pairwise-distances.js';

/** A fitted linear read-out y ≈ intercept + Σ weights[j]·X[:, j]. */
export interface LinearFit {
  /** One weight per column of X, in X's units. */
  weights: Float64Array;
  /** The weights times each column's standard deviation: comparable across columns. */
  standardized: Float64Array;
  intercept: number;
  /** Coefficient of determination on the fitted points, clamped to [0, 1]. */
  r2: number;
}

/**
 * Ordinary least squares of `y` on the `d` columns of `X` (N rows, row-major) with an
 * intercept, via the normal equations on centred data (a tiny ridge, 1e-9 of the mean
 * variance, keeps collinear columns finite). Returns the weights, their standardized form and
 * R²; R² is 0 when y is constant or N < 2.
 *
 * @example linearFit(Float32Array.of(0, 1, 2, 3), 1, Float32Array.of(1, 3, 5, 7)); // weights [2], intercept 1, r2 1
 */
export function linearFit(X: Float32Array, d: number, y: Float32Array | Float64Array): LinearFit {
  const n = rowCount(X, d, 'X');
  if (y.length !== n)
    throw new Error(`y must have one value per row of X = ${n} (got ${y.length})`);
  const mx = new Float64Array(d);
  let my = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) mx[j] += X[i * d + j];
    my += y[i];
  }
  for (let j = 0; j < d; j++) mx[j] /= Math.max(n, 1);
  my /= Math.max(n, 1);
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
  let trace = 0;
  for (let j = 0; j < d; j++) {
    for (let k = 0; k < j; k++) A[j * d + k] = A[k * d + j];
    trace += A[j * d + j];
  }
  const std = new Float64Array(d);
  for (let j = 0; j < d; j++) std[j] = n > 0 ? Math.sqrt(A[j * d + j] / n) : 0;
  const ridge = 1e-9 * (trace / Math.max(d, 1)) + 1e-12;
  for (let j = 0; j < d; j++) A[j * d + j] += ridge;
  const weights = n >= 2 && sst > 0 ? solveSpd(A, b, d) : new Float64Array(d);
  let intercept = my;
  for (let j = 0; j < d; j++) intercept -= weights[j] * mx[j];
  let ssr = 0;
  for (let i = 0; i < n; i++) {
    let pred = 0;
    for (let j = 0; j < d; j++) pred += weights[j] * (X[i * d + j] - mx[j]);
    const e = y[i] - my - pred;
    ssr += e * e;
  }
  const raw = n >= 2 && sst > 0 ? 1 - ssr / sst : 0;
  const r2 = Number.isFinite(raw) ? Math.min(1, Math.max(0, raw)) : 0;
  const standardized = weights.map((w, j) => w * std[j]);
  return { weights, standardized, intercept, r2 };
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
