/**
 * Mutual information between two paired samples by the Kraskov–Stögbauer–Grassberger
 * k-nearest-neighbour estimator (KSG, algorithm 1): with ε_i the max-norm distance of point i
 * to its k-th neighbour in the joint space, and n_x(i), n_y(i) the points strictly closer than
 * ε_i in each marginal, I = ψ(k) + ψ(N) − ⟨ψ(n_x+1) + ψ(n_y+1)⟩ (nats). Brute force, O(N²·dim):
 * meant for a few hundred points of a few dimensions (project wide features first, e.g. with
 * `pcaEmbed`). Clamped at 0.
 *
 * @example knnMutualInformation(a, 2, b, 2, 4); // ≈ -½ln(1-ρ²) for correlated Gaussians
 */
export function knnMutualInformation(
  x: Float32Array,
  dimX: number,
  y: Float32Array,
  dimY: number,
  k = 4,
): number {
  if (!Number.isInteger(dimX) || dimX < 1 || x.length % dimX !== 0) {
    throw new Error(`x must hold N*dimX values for dimX = ${String(dimX)} (got ${x.length})`);
  }
  if (!Number.isInteger(dimY) || dimY < 1 || y.length % dimY !== 0) {
    throw new Error(`y must hold N*dimY values for dimY = ${String(dimY)} (got ${y.length})`);
  }
  const N = x.length / dimX;
  if (y.length / dimY !== N) {
    throw new Error(
      `x and y must hold the same number of points (got ${N} and ${y.length / dimY})`,
    );
  }
  if (!Number.isInteger(k) || k < 1 || k >= N) {
    throw new Error(`k must be an integer in [1, N-1] = [1, ${N - 1}] (got ${String(k)})`);
  }
  const dx = maxNormDistances(x, dimX, N);
  const dy = maxNormDistances(y, dimY, N);
  const joint = new Float64Array(N);
  let sum = 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) joint[j] = Math.max(dx[i * N + j], dy[i * N + j]);
    joint[i] = Infinity;
    const eps = kthSmallest(joint, k);
    let nx = 0;
    let ny = 0;
    for (let j = 0; j < N; j++) {
      if (j === i) continue;
      if (dx[i * N + j] < eps) nx++;
      if (dy[i * N + j] < eps) ny++;
    }
    sum += digamma(nx + 1) + digamma(ny + 1);
  }
  return Math.max(0, digamma(k) + digamma(N) - sum / N);
}

/**
 * Linfoot's informational coefficient of correlation, 1 − e^{−2I}: maps I ∈ [0, ∞) nats to
 * [0, 1); equals ρ² for jointly Gaussian scalars, 0 for independent variables, → 1 as one
 * determines the other. The normalisation `timestepMI` reports.
 * @example normalisedMI(0); // 0
 */
export function normalisedMI(nats: number): number {
  return 1 - Math.exp(-2 * Math.max(0, nats));
}

/** ψ(x) for x > 0: recurrence up to x >= 6, then the asymptotic series. */
export function digamma(x: number): number {
  if (!(x > 0)) throw new Error(`digamma needs x > 0 (got ${x})`);
  let r = 0;
  while (x < 6) {
    r -= 1 / x;
    x += 1;
  }
  const f = 1 / (x * x);
  return (
    r +
    Math.log(x) -
    0.5 / x -
    f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))))
  );
}

function maxNormDistances(v: Float32Array, dim: number, N: number): Float64Array {
  const out = new Float64Array(N * N);
  for (let i = 0; i < N; i++) {
    for (let j = i + 1; j < N; j++) {
      let m = 0;
      for (let c = 0; c < dim; c++) {
        const d = Math.abs(v[i * dim + c] - v[j * dim + c]);
        if (d > m) m = d;
      }
      out[i * N + j] = m;
      out[j * N + i] = m;
    }
  }
  return out;
}

/** k-th smallest (1-based) of `a` by quickselect on a copy. */
function kthSmallest(a: Float64Array, k: number): number {
  const v = Float64Array.from(a);
  let lo = 0;
  let hi = v.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = v[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) {
        const t = v[i];
        v[i] = v[j];
        v[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return v[target];
  }
  return v[target];
}
