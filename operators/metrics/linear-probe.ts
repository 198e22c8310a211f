import { mulberry32 } from '../../streams/mulberry32.js';

export interface LinearProbeOptions {
  /** Number of classes (default: the largest label + 1). */
  classes?: number;
  /** Accelerated gradient iterations (default 200). */
  iterations?: number;
  /** L2 penalty on the weights (default 1e-3). */
  l2?: number;
}

/** A fitted multinomial logistic-regression probe on standardised features. */
export interface LinearProbe {
  dim: number;
  classes: number;
  mean: Float64Array;
  /** 1/sd per feature (0 for a constant feature). */
  scale: Float64Array;
  /** classes*dim weights, class-major. */
  weights: Float64Array;
  bias: Float64Array;
  /** Mean cross-entropy on the training rows. */
  loss: number;
}

/**
 * Fits a multinomial logistic regression (softmax, L2-penalised) to the rows of `x`
 * (n*dim, row-major) and integer `labels`. Features are standardised first; the convex loss
 * is minimised by Nesterov-accelerated full-batch gradient descent with step 1/L, where L
 * bounds the loss's curvature (½·λmax of the standardised scatter + l2), so fitting is
 * deterministic and needs no learning rate. Its logits are what `softVote` averages.
 *
 * @example const p = fitLinearProbe(feats, labels, 256); accuracy(probeLogits(p, test), testLabels);
 */
export function fitLinearProbe(
  x: Float32Array,
  labels: ArrayLike<number>,
  dim: number,
  opts: LinearProbeOptions = {},
): LinearProbe {
  const n = rows(x, dim, 'x');
  if (labels.length !== n) {
    throw new Error(`labels must hold one label per row of x, ${n} (got ${labels.length})`);
  }
  if (n === 0) throw new Error('linear probe needs at least one training row (got 0)');
  let maxLabel = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0) {
      throw new Error(`labels must be non-negative integers (got ${y} at ${i})`);
    }
    if (y > maxLabel) maxLabel = y;
  }
  const K = opts.classes ?? maxLabel + 1;
  if (!Number.isInteger(K) || K < 2 || K <= maxLabel) {
    throw new Error(`classes must be an integer >= 2 and > every label (got ${String(K)})`);
  }
  const iterations = opts.iterations ?? 200;
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`iterations must be a positive integer (got ${String(iterations)})`);
  }
  const l2 = opts.l2 ?? 0.001;
  if (!(typeof l2 === 'number' && l2 >= 0 && Number.isFinite(l2))) {
    throw new Error(`l2 must be a finite number >= 0 (got ${String(l2)})`);
  }
  const mean = new Float64Array(dim);
  const scale = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += x[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      const d = x[i * dim + j] - mean[j];
      scale[j] += d * d;
    }
  }
  for (let j = 0; j < dim; j++) {
    const sd = Math.sqrt(scale[j] / n);
    scale[j] = sd > 1e-8 ? 1 / sd : 0;
  }
  const z = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) z[i * dim + j] = (x[i * dim + j] - mean[j]) * scale[j];
  }
  const L = 0.5 * (largestEigenvalue(z, n, dim) + 1) + l2;
  const step = 1 / L;
  const P = K * dim + K;
  let w = new Float64Array(P);
  let wPrev = new Float64Array(P);
  const v = new Float64Array(P);
  const grad = new Float64Array(P);
  const prob = new Float64Array(K);
  const evaluate = (p: Float64Array, wantGrad: boolean): number => {
    if (wantGrad) grad.fill(0);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const row = i * dim;
      let max = -Infinity;
      for (let k = 0; k < K; k++) {
        let s = p[K * dim + k];
        const wk = k * dim;
        for (let j = 0; j < dim; j++) s += p[wk + j] * z[row + j];
        prob[k] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let k = 0; k < K; k++) {
        prob[k] = Math.exp(prob[k] - max);
        sum += prob[k];
      }
      const y = labels[i];
      total -= Math.log(Math.max(prob[y] / sum, 1e-300));
      if (!wantGrad) continue;
      for (let k = 0; k < K; k++) {
        const g = prob[k] / sum - (k === y ? 1 : 0);
        if (g === 0) continue;
        const wk = k * dim;
        for (let j = 0; j < dim; j++) grad[wk + j] += g * z[row + j];
        grad[K * dim + k] += g;
      }
    }
    if (wantGrad) {
      for (let q = 0; q < P; q++) grad[q] /= n;
      for (let q = 0; q < K * dim; q++) grad[q] += l2 * p[q];
    }
    return total / n;
  };
  for (let it = 1; it <= iterations; it++) {
    const momentum = (it - 1) / (it + 2);
    for (let q = 0; q < P; q++) v[q] = w[q] + momentum * (w[q] - wPrev[q]);
    evaluate(v, true);
    const tmp = wPrev;
    wPrev = w;
    w = tmp;
    for (let q = 0; q < P; q++) w[q] = v[q] - step * grad[q];
  }
  const loss = evaluate(w, false);
  return {
    dim,
    classes: K,
    mean,
    scale,
    weights: w.slice(0, K * dim),
    bias: w.slice(K * dim),
    loss,
  };
}

/** The probe's logits for each row of `x` → n*classes values. */
export function probeLogits(probe: LinearProbe, x: Float32Array): Float32Array {
  const { dim, classes: K } = probe;
  const n = rows(x, dim, 'x');
  const out = new Float32Array(n * K);
  const z = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) z[j] = (x[i * dim + j] - probe.mean[j]) * probe.scale[j];
    for (let k = 0; k < K; k++) {
      let s = probe.bias[k];
      for (let j = 0; j < dim; j++) s += probe.weights[k * dim + j] * z[j];
      out[i * K + k] = s;
    }
  }
  return out;
}

/** Fraction of rows whose largest logit is their label. */
export function accuracy(logits: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = labels.length;
  if (n === 0) return 0;
  if (logits.length % n !== 0) {
    throw new Error(`logits must hold n*classes values for n = ${n} (got ${logits.length})`);
  }
  const K = logits.length / n;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (logits[i * K + k] > logits[i * K + best]) best = k;
    if (best === labels[i]) hits++;
  }
  return hits / n;
}

/** A seeded split of 0..n-1 into test (about testFraction of them, at least 1) and train rows. */
export function splitTrainTest(
  n: number,
  testFraction: number,
  seed: number,
): { test: Int32Array; train: Int32Array } {
  if (!Number.isInteger(n) || n < 2) {
    throw new Error(`split needs an integer n >= 2 rows (got ${String(n)})`);
  }
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new Error(`testFraction must be in (0, 1) (got ${String(testFraction)})`);
  }
  const perm = permutation(n, seed);
  const nTest = Math.min(n - 1, Math.max(1, Math.round(n * testFraction)));
  return { test: perm.slice(0, nTest), train: perm.slice(nTest) };
}

/** The rows `idx` of `x` (rows of `dim` values), in that order. */
export function gatherRows(x: Float32Array, dim: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * dim);
  for (let i = 0; i < idx.length; i++) {
    out.set(x.subarray(idx[i] * dim, (idx[i] + 1) * dim), i * dim);
  }
  return out;
}

/** A copy of `labels` with about `fraction` of them replaced by uniform random classes. */
export function corruptLabels(
  labels: ArrayLike<number>,
  fraction: number,
  classes: number,
  seed: number,
): Int32Array {
  if (!(fraction >= 0 && fraction <= 1)) {
    throw new Error(`labelNoise must be a fraction in [0, 1] (got ${String(fraction)})`);
  }
  const rand = mulberry32(seed ^ 109537);
  const out = Int32Array.from(labels);
  for (let i = 0; i < out.length; i++) {
    if (rand() < fraction) out[i] = Math.floor(rand() * classes);
  }
  return out;
}

function permutation(n: number, seed: number): Int32Array {
  const rand = mulberry32(seed);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

function rows(x: ArrayLike<number>, dim: number, name: string): number {
  if (!Number.isInteger(dim) || dim < 1) {
    throw new Error(`dim must be a positive integer (got ${String(dim)})`);
  }
  if (x.length % dim !== 0) {
    throw new Error(`${name} must hold n*dim values for dim = ${dim} (got ${x.length})`);
  }
  return x.length / dim;
}

/** Power iteration for the largest eigenvalue of zᵀz/n, with 5 % headroom. */
function largestEigenvalue(z: Float64Array, n: number, dim: number): number {
  let v = new Float64Array(dim).fill(1 / Math.sqrt(dim));
  let lambda = 0;
  const zv = new Float64Array(n);
  for (let it = 0; it < 30; it++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += z[i * dim + j] * v[j];
      zv[i] = s;
    }
    const next = new Float64Array(dim);
    for (let i = 0; i < n; i++) {
      const s = zv[i];
      if (s === 0) continue;
      for (let j = 0; j < dim; j++) next[j] += s * z[i * dim + j];
    }
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += next[j] * next[j];
    norm = Math.sqrt(norm);
    if (norm === 0) return 0;
    lambda = norm / n;
    for (let j = 0; j < dim; j++) next[j] /= norm;
    v = next;
  }
  return lambda * 1.05;
}
