import type { Dataset } from './events.js';
import { mulberry32 } from './mulberry32.js';

export interface MolrgOptions {
  /** Number of classes K >= 2 (default 3). */
  classes?: number;
  /** Dimension d of each class subspace (default 8). */
  subspaceDim?: number;
  /** Ambient dimension n >= K*d (default 64). */
  ambientDim?: number;
  /** Intrinsic noise δ in (0, 1): the spread off the class subspace (default 0.3). */
  noise?: number;
  /** Number of examples (default 5000). */
  count?: number;
  /** Seeds the samples (default 0). */
  seed?: number;
  /**
   * Seeds the subspace bases (default 0), separately from the samples, so a held-out probe
   * set from the same distribution is `molrg({ ...opts, seed: 99 })`.
   */
  basisSeed?: number;
  /** Bases: random orthonormal (default) or blocks of coordinate axes. */
  basis?: 'random' | 'axis';
}

/** A noisy MoLRG data set (seed 002, Assumption 1) with its ground truth. */
export interface MolrgDataset extends Dataset {
  readonly classes: number;
  readonly subspaceDim: number;
  readonly ambientDim: number;
  readonly noise: number;
  /** One d*n basis per class (d orthonormal rows); mutually orthogonal. */
  readonly bases: Float32Array[];
  /** All examples, count*n, row-major. */
  readonly data: Float32Array;
  /** Class of each example, 0..K-1. */
  readonly classOf: Int32Array;
  /**
   * The optimal posterior mean E[x0 | y] at noise level σ for rows `y` (N*n) on the EDM scale
   * y = x0 + σε (seed 002, Proposition 1). See `molrgPosteriorMean`.
   */
  posteriorMean(y: Float32Array, sigma: number, opts?: PosteriorOptions): Float32Array;
}

export interface PosteriorOptions {
  /**
   * Replace the softmax weights by their expectation given these true classes (the seed's
   * approximation behind its closed-form CSNR): h⁺ for the row's class, h⁻ for the others.
   */
  expectedWeights?: ArrayLike<number>;
}

/**
 * A noisy mixture of low-rank Gaussians (seed 002): class k ~ uniform over K, then
 * x = U_k a + δ (I - U_k U_kᵀ) e with a ~ N(0, I_d), e ~ N(0, I_n) and mutually orthogonal
 * orthonormal bases U_k. A `Dataset` of vectors (`shape: [n]`, `size: n`); `labels` is the class
 * (labelDim 1) and `fields.class` the same, for probes.
 *
 * @example const d = molrg({ classes: 3, subspaceDim: 8, ambientDim: 64, noise: 0.3, count: 4000 });
 */
export function molrg(opts: MolrgOptions = {}): MolrgDataset {
  const K = opts.classes ?? 3;
  const d = opts.subspaceDim ?? 8;
  const n = opts.ambientDim ?? 64;
  const delta = opts.noise ?? 0.3;
  const count = opts.count ?? 5000;
  const seed = opts.seed ?? 0;
  const basisSeed = opts.basisSeed ?? 0;
  const basisKind = opts.basis ?? 'random';
  if (!Number.isInteger(K) || K < 2) {
    throw new Error(`molrg classes must be an integer >= 2 (got ${String(K)})`);
  }
  if (!Number.isInteger(d) || d < 1) {
    throw new Error(`molrg subspaceDim must be a positive integer (got ${String(d)})`);
  }
  if (!Number.isInteger(n) || n < K * d) {
    throw new Error(
      `molrg ambientDim must be an integer >= classes*subspaceDim = ${K * d} (got ${String(n)})`,
    );
  }
  if (!(typeof delta === 'number' && delta > 0 && delta < 1)) {
    throw new Error(`molrg noise must be a number in (0, 1) (got ${String(delta)})`);
  }
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`molrg count must be a positive integer (got ${String(count)})`);
  }
  if (!Number.isInteger(seed))
    throw new Error(`molrg seed must be an integer (got ${String(seed)})`);
  if (!Number.isInteger(basisSeed)) {
    throw new Error(`molrg basisSeed must be an integer (got ${String(basisSeed)})`);
  }
  if (basisKind !== 'random' && basisKind !== 'axis') {
    throw new Error(`molrg basis must be one of random, axis (got "${String(basisKind)}")`);
  }
  const bases = makeBases(K, d, n, basisKind, basisSeed);
  const normal = gaussian(mulberry32(seed ^ 0x6d6f6c));
  const data = new Float32Array(count * n);
  const classOf = new Int32Array(count);
  const labels = new Float32Array(count);
  const e = new Float64Array(n);
  for (let i = 0; i < count; i++) {
    const k = Math.min(K - 1, Math.floor(normal.uniform() * K));
    classOf[i] = k;
    labels[i] = k;
    const U = bases[k];
    for (let j = 0; j < n; j++) e[j] = delta * normal.next();
    // Remove e's component in span(U_k), then add U_k a.
    for (let r = 0; r < d; r++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += U[r * n + j] * e[j];
      const a = normal.next();
      for (let j = 0; j < n; j++) e[j] += (a - s) * U[r * n + j];
    }
    for (let j = 0; j < n; j++) data[i * n + j] = e[j];
  }
  const ds: MolrgDataset = {
    size: n,
    count,
    labels,
    shape: [n],
    labelDim: 1,
    fields: { class: labels },
    classes: K,
    subspaceDim: d,
    ambientDim: n,
    noise: delta,
    bases,
    data,
    classOf,
    image: (i: number) => {
      if (!Number.isInteger(i) || i < 0 || i >= count) {
        throw new Error(`molrg image index must be an integer in [0, ${count - 1}] (got ${i})`);
      }
      return data.slice(i * n, (i + 1) * n);
    },
    posteriorMean: (y, sigma, popts) => molrgPosteriorMean(ds, y, sigma, popts),
  };
  return ds;
}

/**
 * The optimal denoiser of the noisy MoLRG at noise level σ (seed 002, Proposition 1), for rows
 * `y` on the EDM scale y = x0 + σε (for DDPM's x_t = √ᾱ x0 + √(1-ᾱ) ε pass y = x_t/√ᾱ and
 * σ = √((1-ᾱ)/ᾱ); for the seed's clean-input convention pass y = x0):
 * E[x0|y] = Σ_k w_k(y) [ P_k y/(1+σ²) + δ²(I-P_k) y/(δ²+σ²) ],
 * w = softmax_k( ½ (1/(δ²+σ²) - 1/(1+σ²)) ‖U_kᵀ y‖² ).
 * @example molrgPosteriorMean(ds, x0, 1.0);
 */
export function molrgPosteriorMean(
  ds: Pick<MolrgDataset, 'classes' | 'subspaceDim' | 'ambientDim' | 'noise' | 'bases'>,
  y: Float32Array,
  sigma: number,
  opts: PosteriorOptions = {},
): Float32Array {
  const { classes: K, subspaceDim: d, ambientDim: n, noise: delta, bases } = ds;
  if (!(typeof sigma === 'number' && sigma >= 0 && Number.isFinite(sigma))) {
    throw new Error(`posterior sigma must be a finite number >= 0 (got ${String(sigma)})`);
  }
  if (y.length % n !== 0) {
    throw new Error(`posterior rows must hold N*${n} values (got ${y.length})`);
  }
  const N = y.length / n;
  const expected = opts.expectedWeights;
  if (expected && expected.length !== N) {
    throw new Error(`expectedWeights must hold one class per row, ${N} (got ${expected.length})`);
  }
  const d2 = delta * delta;
  const s2 = sigma * sigma;
  const a = 1 / (1 + s2);
  const b = d2 / (d2 + s2);
  const c = 0.5 * (1 / (d2 + s2) - 1 / (1 + s2));
  const other = Math.exp(c * d2 * d - c * d);
  const hPlus = 1 / (1 + (K - 1) * other);
  const hMinus = other * hPlus;
  const out = new Float32Array(y.length);
  const coef = new Float64Array(K * d);
  const logits = new Float64Array(K);
  const w = new Float64Array(K);
  for (let i = 0; i < N; i++) {
    const off = i * n;
    for (let k = 0; k < K; k++) {
      let energy = 0;
      for (let r = 0; r < d; r++) {
        let s = 0;
        const row = r * n;
        for (let j = 0; j < n; j++) s += bases[k][row + j] * y[off + j];
        coef[k * d + r] = s;
        energy += s * s;
      }
      logits[k] = c * energy;
    }
    if (expected) {
      for (let k = 0; k < K; k++) w[k] = k === expected[i] ? hPlus : hMinus;
    } else {
      let max = -Infinity;
      for (let k = 0; k < K; k++) max = Math.max(max, logits[k]);
      let sum = 0;
      for (let k = 0; k < K; k++) {
        w[k] = Math.exp(logits[k] - max);
        sum += w[k];
      }
      for (let k = 0; k < K; k++) w[k] /= sum;
    }
    // Σ_k w_k [a P_k y + b (y - P_k y)] = b y + (a - b) Σ_k w_k P_k y  (Σ w_k = 1)
    for (let j = 0; j < n; j++) out[off + j] = b * y[off + j];
    for (let k = 0; k < K; k++) {
      const g = (a - b) * w[k];
      if (g === 0) continue;
      for (let r = 0; r < d; r++) {
        const s = g * coef[k * d + r];
        const row = r * n;
        for (let j = 0; j < n; j++) out[off + j] += s * bases[k][row + j];
      }
    }
  }
  return out;
}

/** σ of DDPM timestep t on the EDM scale: √((1-ᾱ_t)/ᾱ_t). */
export function sigmaFromAlphaBar(alphaBar: number): number {
  if (!(alphaBar > 0 && alphaBar <= 1)) {
    throw new Error(`alphaBar must be in (0, 1] (got ${String(alphaBar)})`);
  }
  return Math.sqrt((1 - alphaBar) / alphaBar);
}

function makeBases(
  K: number,
  d: number,
  n: number,
  kind: 'random' | 'axis',
  seed: number,
): Float32Array[] {
  const m = K * d;
  const Q = new Float64Array(m * n);
  if (kind === 'axis') {
    for (let r = 0; r < m; r++) Q[r * n + r] = 1;
  } else {
    const g = gaussian(mulberry32(seed ^ 0xba5e));
    for (let i = 0; i < m * n; i++) Q[i] = g.next();
    for (let r = 0; r < m; r++) {
      for (let pass = 0; pass < 2; pass++) {
        for (let p = 0; p < r; p++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += Q[r * n + j] * Q[p * n + j];
          for (let j = 0; j < n; j++) Q[r * n + j] -= s * Q[p * n + j];
        }
      }
      let norm = 0;
      for (let j = 0; j < n; j++) norm += Q[r * n + j] ** 2;
      norm = Math.sqrt(norm);
      for (let j = 0; j < n; j++) Q[r * n + j] /= norm;
    }
  }
  const out: Float32Array[] = [];
  for (let k = 0; k < K; k++) out.push(Float32Array.from(Q.subarray(k * d * n, (k + 1) * d * n)));
  return out;
}

function gaussian(rand: () => number): { next(): number; uniform(): number } {
  let spare: number | undefined;
  return {
    uniform: rand,
    next(): number {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      let u = 0;
      while (u === 0) u = rand();
      const v = rand();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}
