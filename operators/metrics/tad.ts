/**
 * TAD, the "Total AUROC Difference" disentanglement score of Yeats et al. (2022, NashAE), as
 * the seed (001, A.7) uses it on CelebA, with the definition of the NashAE authors' evaluation
 * code:
 *
 * 1. for every binary attribute a and latent axis j, the AUROC of z_j as a detector of a,
 *    sign-free: max(AUROC, 1 − AUROC), so it lies in [0.5, 1];
 * 2. per attribute, the difference between its best and second-best axis;
 * 3. an attribute counts ("is captured") when its best AUROC is at least `threshold` (0.75)
 *    and no other attribute explains more than `maxSharedInformation` (20 %) of its entropy
 *    (max over b ≠ a of I(a; b) / H(a), from the attributes' own joint frequencies);
 * 4. TAD is the sum of the differences over the captured attributes.
 *
 * A perfectly disentangled code (each attribute read by its own axis, the others at chance)
 * scores 0.5 per attribute; an entangled one (one attribute spread over several axes) less.
 * The reference code lets one axis serve several attributes; `exclusive: true` credits each
 * axis to at most one attribute (the one with the larger difference).
 */

export interface TadOptions {
  /** Smallest best-axis AUROC for an attribute to count (default 0.75, the reference's). */
  threshold?: number;
  /** Largest share of an attribute's entropy another attribute may explain (default 0.2). */
  maxSharedInformation?: number;
  /** Credit each latent axis to at most one attribute (default false, as the reference). */
  exclusive?: boolean;
}

export interface TadAttribute {
  /** The axis with the largest AUROC. */
  bestAxis: number;
  /** Its sign-free AUROC. */
  best: number;
  /** The largest AUROC among the other axes (0.5, chance, when there is no other axis). */
  second: number;
  /** best − second. */
  difference: number;
  /** max over other attributes of I(a; b) / H(a) (0 when there is one attribute). */
  sharedInformation: number;
  /** Whether the attribute is captured (it counts towards the score). */
  counted: boolean;
}

export interface TadResult {
  /** The sum of the captured attributes' differences. */
  score: number;
  /** How many attributes are captured. */
  captured: number;
  attributes: TadAttribute[];
  /** Sign-free AUROCs, attributes × axes, row-major. */
  aurocs: Float64Array;
}

/**
 * Area under the ROC curve of `scores` for detecting `labels` (1 positive, 0 negative): the
 * probability that a random positive scores above a random negative, ties counted half
 * (the Mann–Whitney U statistic over n₊·n₋). 1 for a perfect separation, 0 for a reversed one.
 *
 * @example auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]); // 0.75
 */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  if (labels.length !== n) {
    throw new Error(`auroc labels must have one value per score (${n}; got ${labels.length})`);
  }
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    if (!Number.isFinite(s)) throw new Error(`auroc scores must be finite (got ${s} at ${i})`);
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new Error(`auroc labels must be 0 or 1 (got ${y} at ${i})`);
    positives += y;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw new Error(
      `auroc needs both classes (got ${positives} positives and ${negatives} negatives)`,
    );
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  // Sum of the positives' ranks (1-based), tied scores sharing their average rank.
  let rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const rank = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) if (labels[order[k]] === 1) rankSum += rank;
    i = j + 1;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Binarises a continuous factor at its median: 1 above the median, 0 at or below it (so a
 * factor with distinct values splits into halves). Used for the disks' continuous factors.
 *
 * @example binarizeAtMedian([3, 1, 2, 4]); // Uint8Array [1, 0, 0, 1]
 */
export function binarizeAtMedian(values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  if (n === 0) throw new Error('binarizeAtMedian values must not be empty');
  const sorted = Float64Array.from(values).sort();
  if (!sorted.every(Number.isFinite)) throw new Error('binarizeAtMedian values must be finite');
  const median = n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = values[i] > median ? 1 : 0;
  return out;
}

/** Entropy (nats) of a binary attribute and mutual information (nats) of two. */
function entropy(p: number): number {
  return (p > 0 ? -p * Math.log(p) : 0) + (p < 1 ? -(1 - p) * Math.log(1 - p) : 0);
}

function mutualInformation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const joint = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) joint[a[i] * 2 + b[i]] += 1 / n;
  const pa = joint[2] + joint[3];
  const pb = joint[1] + joint[3];
  let mi = 0;
  for (let k = 0; k < 4; k++) {
    const px = k >= 2 ? pa : 1 - pa;
    const py = k % 2 === 1 ? pb : 1 - pb;
    if (joint[k] > 0) mi += joint[k] * Math.log(joint[k] / (px * py));
  }
  return mi;
}

/**
 * TAD of a code: `codes` holds N examples × `dim` latent axes (row-major), `attributes` one
 * binary (0/1) array of N values per attribute. See the module comment for the definition.
 *
 * @example tad(codes, 3, [binarizeAtMedian(cx), binarizeAtMedian(cy)]).score
 */
export function tad(
  codes: ArrayLike<number>,
  dim: number,
  attributes: ArrayLike<number>[],
  opts: TadOptions = {},
): TadResult {
  if (!Number.isInteger(dim) || dim < 1) {
    throw new Error(`tad dim must be a positive integer (got ${String(dim)})`);
  }
  if (codes.length === 0 || codes.length % dim !== 0) {
    throw new Error(`tad codes must hold N*${dim} values (got ${codes.length})`);
  }
  const n = codes.length / dim;
  if (!Array.isArray(attributes) || attributes.length === 0) {
    throw new Error('tad attributes must be a non-empty array of binary arrays');
  }
  attributes.forEach((a, k) => {
    if (a.length !== n) {
      throw new Error(
        `tad attribute ${k} must hold ${n} values, one per example (got ${a.length})`,
      );
    }
  });
  const threshold = opts.threshold ?? 0.75;
  if (!(threshold >= 0.5 && threshold <= 1)) {
    throw new Error(`tad threshold must be a number in [0.5, 1] (got ${String(threshold)})`);
  }
  const maxShared = opts.maxSharedInformation ?? 0.2;
  if (!(maxShared >= 0 && maxShared <= 1)) {
    throw new Error(
      `tad maxSharedInformation must be a number in [0, 1] (got ${String(maxShared)})`,
    );
  }
  const m = attributes.length;
  const aurocs = new Float64Array(m * dim);
  const column = new Float64Array(n);
  for (let j = 0; j < dim; j++) {
    for (let i = 0; i < n; i++) column[i] = codes[i * dim + j];
    for (let a = 0; a < m; a++) {
      const v = auroc(column, attributes[a]);
      aurocs[a * dim + j] = Math.max(v, 1 - v);
    }
  }
  const out: TadAttribute[] = attributes.map((attr, a) => {
    let bestAxis = 0;
    for (let j = 1; j < dim; j++)
      if (aurocs[a * dim + j] > aurocs[a * dim + bestAxis]) bestAxis = j;
    let second = dim > 1 ? 0 : 0.5;
    for (let j = 0; j < dim; j++)
      if (j !== bestAxis) second = Math.max(second, aurocs[a * dim + j]);
    let p = 0;
    for (let i = 0; i < n; i++) p += attr[i] / n;
    const h = entropy(p);
    let shared = 0;
    for (let b = 0; b < m; b++) {
      if (b !== a) shared = Math.max(shared, mutualInformation(attr, attributes[b]) / h);
    }
    const best = aurocs[a * dim + bestAxis];
    return {
      bestAxis,
      best,
      second,
      difference: best - second,
      sharedInformation: shared,
      counted: best >= threshold && shared <= maxShared,
    };
  });
  if (opts.exclusive) {
    const taken = new Set<number>();
    const byDifference = out
      .map((_, a) => a)
      .filter((a) => out[a].counted)
      .sort((x, y) => out[y].difference - out[x].difference);
    for (const a of byDifference) {
      if (taken.has(out[a].bestAxis)) out[a].counted = false;
      else taken.add(out[a].bestAxis);
    }
  }
  let score = 0;
  let captured = 0;
  for (const r of out) {
    if (!r.counted) continue;
    score += r.difference;
    captured++;
  }
  return { score, captured, attributes: out, aurocs };
}
