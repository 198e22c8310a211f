/**
 * Class-specific signal-to-noise ratio (seed 002, Definition 1) and its closed form on the
 * noisy MoLRG (seed 002, Theorem 2). A basis is `d` orthonormal vectors of length `dim`,
 * stored as d rows (d*dim, row-major).
 */

export interface CsnrClosedFormOptions {
  /** Number of classes K >= 2. */
  classes: number;
  /** Subspace dimension d. */
  subspaceDim: number;
  /** Intrinsic noise δ of the MoLRG (energy off the class subspace), in (0, 1). */
  noise: number;
  /** Diffusion noise level σ >= 0 (EDM scale: y = x0 + σε; DDPM: σ² = (1-ᾱ)/ᾱ). */
  sigma: number;
}

/**
 * Energy of `x` (length dim) in the span of `basis` (d*dim rows): ‖Uᵀx‖².
 * @example projectedEnergy(x, U, 64);
 */
export function projectedEnergy(
  x: ArrayLike<number>,
  basis: Float32Array,
  dim: number,
  offset = 0,
): number {
  const d = basis.length / dim;
  let e = 0;
  for (let r = 0; r < d; r++) {
    let s = 0;
    const b = r * dim;
    for (let j = 0; j < dim; j++) s += basis[b + j] * x[offset + j];
    e += s * s;
  }
  return e;
}

/**
 * CSNR of the rows of `x` (n*dim) whose true classes are `labels`, measured with one basis per
 * class: E‖U_kᵀx̂‖² / E Σ_{l≠k}‖U_lᵀx̂‖², the ratio of the mean energies over the rows (the form
 * the seed's closed form describes; a per-row ratio would weight rows with little off-class
 * energy without bound).
 * @example csnr(posterior, classes, bases, 64);
 */
export function csnr(
  x: Float32Array,
  labels: ArrayLike<number>,
  bases: Float32Array[],
  dim: number,
): number {
  if (!Number.isInteger(dim) || dim < 1 || x.length % dim !== 0) {
    throw new Error(`x must hold n*dim values for dim = ${String(dim)} (got ${x.length})`);
  }
  const n = x.length / dim;
  if (labels.length !== n) {
    throw new Error(`labels must hold one class per row of x, ${n} (got ${labels.length})`);
  }
  if (bases.length < 2) throw new Error(`csnr needs >= 2 class bases (got ${bases.length})`);
  for (let k = 0; k < bases.length; k++) {
    if (bases[k].length === 0 || bases[k].length % dim !== 0) {
      throw new Error(
        `bases[${k}] must hold d*dim values for dim = ${dim} (got ${bases[k].length})`,
      );
    }
  }
  let signal = 0;
  let other = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= bases.length) {
      throw new Error(`labels[${i}] must be a class in 0..${bases.length - 1} (got ${y})`);
    }
    for (let k = 0; k < bases.length; k++) {
      const e = projectedEnergy(x, bases[k], dim, i * dim);
      if (k === y) signal += e;
      else other += e;
    }
  }
  return other > 0 ? signal / other : Infinity;
}

/**
 * The seed's closed form of the CSNR of the optimal posterior mean on a clean MoLRG point, with
 * the softmax's argument replaced by its expectation (seed 002, Theorem 2):
 * CSNR(σ) = 1/((K-1)δ²) · ((h⁺φ + 1 - h⁺) / (h⁻φ + 1 - h⁻))², with the denoising rate
 * φ = (δ²+σ²)/(δ²(1+σ²)) (increasing in σ) and the class confidences
 * h⁺ = e^{cd}/(e^{cd} + (K-1)e^{cδ²d}), h⁻ = e^{cδ²d}/(…), c = ½(1/(δ²+σ²) - 1/(1+σ²)).
 * @example csnrClosedForm({ classes: 3, subspaceDim: 4, noise: 0.3, sigma: 1 });
 */
export function csnrClosedForm(opts: CsnrClosedFormOptions): number {
  const { classes: K, subspaceDim: d, noise: delta, sigma } = opts;
  if (!Number.isInteger(K) || K < 2) throw new Error(`classes must be an integer >= 2 (got ${K})`);
  if (!Number.isInteger(d) || d < 1) {
    throw new Error(`subspaceDim must be a positive integer (got ${d})`);
  }
  if (!(delta > 0 && delta < 1)) throw new Error(`noise must be in (0, 1) (got ${delta})`);
  if (!(sigma >= 0 && Number.isFinite(sigma))) {
    throw new Error(`sigma must be a finite number >= 0 (got ${sigma})`);
  }
  const { hPlus, hMinus } = classConfidence(K, d, delta, sigma);
  const d2 = delta * delta;
  const s2 = sigma * sigma;
  const phi = (d2 + s2) / (d2 * (1 + s2));
  const num = hPlus * phi + 1 - hPlus;
  const den = hMinus * phi + 1 - hMinus;
  return (num / den) ** 2 / ((K - 1) * d2);
}

/** h⁺ and h⁻ of `csnrClosedForm`: the expected-argument softmax weights of the true / another class. */
export function classConfidence(
  K: number,
  d: number,
  delta: number,
  sigma: number,
): { hPlus: number; hMinus: number } {
  const d2 = delta * delta;
  const s2 = sigma * sigma;
  const c = 0.5 * (1 / (d2 + s2) - 1 / (1 + s2));
  // Subtract the larger exponent (c·d) for stability.
  const other = Math.exp(c * d2 * d - c * d);
  const z = 1 + (K - 1) * other;
  return { hPlus: 1 / z, hMinus: other / z };
}

/**
 * Per-class bases of features, as the seed extends CSNR to features: the top `d` right
 * singular vectors of each class's (uncentred) feature rows, by orthogonal power iteration
 * from a fixed start. Returns one d*dim basis per class 0..classes-1.
 * @example classBases(features, labels, 1024, 3, 4);
 */
export function classBases(
  x: Float32Array,
  labels: ArrayLike<number>,
  dim: number,
  classes: number,
  d: number,
  iterations = 30,
): Float32Array[] {
  if (!Number.isInteger(d) || d < 1 || d > dim) {
    throw new Error(`basis dimension must be an integer in [1, ${dim}] (got ${String(d)})`);
  }
  const n = x.length / dim;
  const out: Float32Array[] = [];
  for (let k = 0; k < classes; k++) {
    const idx: number[] = [];
    for (let i = 0; i < n; i++) if (labels[i] === k) idx.push(i);
    if (idx.length === 0) throw new Error(`class ${k} has no rows to fit a basis to`);
    out.push(topRightSingular(x, dim, idx, d, iterations));
  }
  return out;
}

function topRightSingular(
  x: Float32Array,
  dim: number,
  idx: number[],
  d: number,
  iterations: number,
): Float32Array {
  // Q: d*dim rows, start from a fixed deterministic pattern.
  let Q = new Float64Array(d * dim);
  for (let r = 0; r < d; r++) {
    for (let j = 0; j < dim; j++) Q[r * dim + j] = Math.sin(1 + 7.31 * (r + 1) * (j + 1));
  }
  orthonormalise(Q, d, dim);
  const proj = new Float64Array(idx.length * d);
  for (let it = 0; it < iterations; it++) {
    // proj = X Qᵀ, then Q = (Xᵀ proj)ᵀ
    for (let a = 0; a < idx.length; a++) {
      const row = idx[a] * dim;
      for (let r = 0; r < d; r++) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += x[row + j] * Q[r * dim + j];
        proj[a * d + r] = s;
      }
    }
    const next = new Float64Array(d * dim);
    for (let a = 0; a < idx.length; a++) {
      const row = idx[a] * dim;
      for (let r = 0; r < d; r++) {
        const s = proj[a * d + r];
        if (s === 0) continue;
        for (let j = 0; j < dim; j++) next[r * dim + j] += s * x[row + j];
      }
    }
    orthonormalise(next, d, dim);
    Q = next;
  }
  return Float32Array.from(Q);
}

/** Modified Gram-Schmidt on d rows; a row that vanishes is replaced by a unit axis. */
function orthonormalise(Q: Float64Array, d: number, dim: number): void {
  for (let r = 0; r < d; r++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < r; p++) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += Q[r * dim + j] * Q[p * dim + j];
        for (let j = 0; j < dim; j++) Q[r * dim + j] -= s * Q[p * dim + j];
      }
    }
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += Q[r * dim + j] ** 2;
    norm = Math.sqrt(norm);
    if (norm < 1e-12) {
      Q.fill(0, r * dim, (r + 1) * dim);
      Q[r * dim + (r % dim)] = 1;
      if (r > 0) orthonormalise(Q, r + 1, dim);
      continue;
    }
    for (let j = 0; j < dim; j++) Q[r * dim + j] /= norm;
  }
}
