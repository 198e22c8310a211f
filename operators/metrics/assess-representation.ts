import type { Assessment, Snapshot } from '../../streams/events.js';
import { breathe, checkAssessOptions, embed3d, type AssessOptions } from './assess-snapshot.js';
import { classifyRepresentation } from './classify-representation.js';
import { kNearest, type Neighbours } from './k-nearest.js';
import { linearR2 } from './linear-r2.js';
import {
  accuracy,
  fitLinearProbe,
  gatherRows,
  probeLogits,
  splitTrainTest,
} from './linear-probe.js';
import { neighbourhoodPreservation } from './neighbourhood-preservation.js';
import { pcaEmbed } from './pca-embed.js';
import { twoNN } from './two-nn.js';

/** Fewer samples than this and the figures are too noisy to judge: the phase is withheld. */
export const MIN_REPRESENTATION_SAMPLES = 20;
/** One-hot classes sit this many standard deviations apart in factor space. */
const CLASS_SPREAD = 3;

/** Throws a one-line error naming the first field whose size does not fit; returns N. */
function checkShape(s: Snapshot): number {
  if (!Number.isInteger(s.dim) || s.dim < 1) {
    throw new Error(`snapshot.dim must be a positive integer (got ${String(s.dim)})`);
  }
  const n = s.activations.length / s.dim;
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(
      `snapshot.activations must hold N*dim values with N >= 1 (got ${s.activations.length} for dim ${s.dim})`,
    );
  }
  const factors = Object.entries(s.factors ?? {});
  if (factors.length === 0) throw new Error('snapshot.factors must name at least one factor');
  for (const [name, f] of factors) {
    if (f.values.length !== n) {
      throw new Error(
        `snapshot.factors.${name} must hold N = ${n} values (got ${f.values.length})`,
      );
    }
    if (f.categorical && f.values.some((v) => !Number.isInteger(v) || v < 0)) {
      throw new Error(
        `snapshot.factors.${name} is categorical: its values must be class indices >= 0`,
      );
    }
  }
  if (s.samplesOk && s.samplesOk.length !== n) {
    throw new Error(`snapshot.samplesOk must hold N = ${n} values (got ${s.samplesOk.length})`);
  }
  return n;
}

/** Chance-corrected score: 0 at `chance`, 1 at 1, clamped to [0, 1]. */
function lift(value: number, chance: number): number {
  if (!(chance < 1)) return 0;
  return Math.min(1, Math.max(0, (value - chance) / (1 - chance)));
}

/** Class counts of a categorical factor. */
function classCounts(values: Float32Array): number[] {
  const counts: number[] = [];
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return Array.from(counts, (c) => c ?? 0);
}

/** Fraction of each point's activation neighbours in its own class, and that fraction at chance. */
function classPurity(values: Float32Array, nn: Neighbours, k: number): [number, number] {
  const n = values.length;
  const kk = Math.min(k, nn.k);
  let same = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < kk; j++) if (values[nn.indices[i * nn.k + j]] === values[i]) same++;
  }
  const chance = classCounts(values).reduce((s, c) => s + (c * (c - 1)) / (n * (n - 1)), 0);
  return [same / (n * kk), chance];
}

/** Probe accuracy on held-out rows (30%), and the majority class's share (chance). */
function probeAccuracy(
  x: Float32Array,
  d: number,
  values: Float32Array,
  seed: number,
): [number, number] {
  const n = values.length;
  const { train, test } = splitTrainTest(n, 0.3, seed);
  const labels = Int32Array.from(values);
  const classes = Math.max(...labels) + 1;
  const probe = fitLinearProbe(
    gatherRows(x, d, train),
    Int32Array.from(train, (i) => labels[i]),
    d,
    {
      classes,
    },
  );
  const acc = accuracy(
    probeLogits(probe, gatherRows(x, d, test)),
    Int32Array.from(test, (i) => labels[i]),
  );
  return [acc, Math.max(...classCounts(values)) / n];
}

/** Continuous factors z-scored and classes one-hot, N rows: the space factor neighbours live in. */
function factorSpace(s: Snapshot, n: number): { data: Float32Array; dim: number } {
  const cols: Float32Array[] = [];
  for (const f of Object.values(s.factors ?? {})) {
    if (f.categorical) {
      const k = classCounts(f.values).length;
      for (let c = 0; c < k; c++)
        cols.push(Float32Array.from(f.values, (v) => (v === c ? CLASS_SPREAD : 0)));
      continue;
    }
    let mean = 0;
    for (const v of f.values) mean += v / n;
    let sd = 0;
    for (const v of f.values) sd += (v - mean) ** 2 / n;
    sd = Math.sqrt(sd) || 1;
    cols.push(Float32Array.from(f.values, (v) => (v - mean) / sd));
  }
  const data = new Float32Array(n * cols.length);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < cols.length; j++) data[i * cols.length + j] = cols[j][i];
  return { data, dim: cols.length };
}

/**
 * What keeps a representation snapshot (sizes already checked) from being judged, one phrase
 * each: non-finite activations, fewer than 20 samples, a factor without variance or with a
 * non-finite value. Empty when it can be judged. The ingest API says so at upload.
 *
 * @example representationProblems(snap); // ['factor y has no variance']
 */
export function representationProblems(s: Snapshot): string[] {
  const n = s.dim > 0 ? Math.floor(s.activations.length / s.dim) : 0;
  const problems: string[] = [];
  const bad = s.activations.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) problems.push(`activations hold a non-finite value at flat index ${bad}`);
  if (n < MIN_REPRESENTATION_SAMPLES) {
    problems.push(`only ${n} samples (at least ${MIN_REPRESENTATION_SAMPLES} are needed)`);
  }
  for (const [name, f] of Object.entries(s.factors ?? {})) {
    const first = f.values[0];
    if (f.values.every((v) => v === first)) problems.push(`factor ${name} has no variance`);
    if (f.values.some((v) => !Number.isFinite(v))) {
      problems.push(`factor ${name} holds a non-finite value`);
    }
  }
  return problems;
}

/**
 * Seed 004's phases for any model: assesses a representation snapshot (activations of any layer
 * with the generative factors of each sample) without images. Figures: the activations'
 * intrinsic dimension (TWO-NN) against the factors' (one per factor);
 * the structure — neighbourhood overlap between factor space (continuous factors z-scored,
 * classes one-hot) and activation space, or, with classes only, the class purity of activation
 * neighbourhoods, rescaled so chance is 0; per factor a read-out on the top principal components
 * (linear R² for a continuous factor, held-out probe accuracy above chance for a categorical one)
 * whose worst is the ordering; and the share of samples the trainer judged ok, when sent. Then
 * `classifyRepresentation`. `evidence` holds every figure and threshold.
 *
 * Honest inputs: fewer than 20 samples, a factor without variance, or non-finite activations give
 * a one-line `warning` and `evidence.inputOk` 0 — the phase is withheld. Sizes that do not fit
 * throw a one-line error.
 *
 * @example const a = await assessRepresentation({ ...snap, factors: { angle: { values } } }); a.phase;
 */
export async function assessRepresentation(
  s: Snapshot,
  opts: AssessOptions = {},
): Promise<Assessment> {
  const o = checkAssessOptions(opts);
  const n = checkShape(s);
  const factors = Object.entries(s.factors ?? {});
  const continuous = factors.filter(([, f]) => !f.categorical).length;
  const factorDim = factors.length;
  const t = o.representation;
  const evidence: Record<string, number> = { n, dim: s.dim, factors: factors.length, factorDim };
  let okShare = NaN;
  if (s.samplesOk) {
    okShare =
      s.samplesOk.reduce((a, v) => a + (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0), 0) /
      n;
  }
  evidence.samplesOk = Number.isFinite(okShare) ? okShare : -1;
  const problems = representationProblems(s);
  const bad = s.activations.findIndex((v) => !Number.isFinite(v));
  const base = {
    step: s.step,
    bumps: { none: 0, one: 0, many: 0 },
    rule: 'representation' as const,
  };
  if (bad >= 0 || n < 3) {
    // Nothing can be measured: the figures stay unset, the phase withheld.
    Object.assign(evidence, { inputOk: 0, ...t });
    return {
      ...base,
      accuracy: Number.isFinite(okShare) ? okShare : 0,
      r2: { x: 0, y: 0, mean: 0 },
      embedding: new Float32Array(n * 3),
      phase: 'A',
      evidence,
      warning: `phase not judged: ${problems.join('; ')}`,
    };
  }
  const neighbours = kNearest(s.activations, s.dim, Math.max(2, o.k, o.nNeighbors - 1));
  await breathe();
  const intrinsicDim = twoNN(s.activations, s.dim, neighbours) || 0;
  // Structure: neighbourhoods in activation space against factor space, chance at 0.
  let structure: number;
  const k = Math.min(o.k, n - 1);
  if (continuous > 0) {
    const space = factorSpace(s, n);
    const kept = neighbourhoodPreservation(
      space.data,
      space.dim,
      s.activations,
      s.dim,
      k,
      neighbours,
    );
    evidence.neighbourhood = kept;
    evidence.neighbourhoodChance = k / (n - 1);
    structure = lift(kept, k / (n - 1));
  } else {
    const lifts = factors.map(([name, f]) => {
      const [purity, chance] = classPurity(f.values, neighbours, k);
      evidence[`purity/${name}`] = purity;
      evidence[`purityChance/${name}`] = chance;
      return lift(purity, chance);
    });
    structure = lifts.reduce((a, b) => a + b, 0) / lifts.length;
  }
  await breathe();
  // Read-outs on the top principal components (few, so in-sample R² is barely inflated).
  const p = Math.min(s.dim, 8, Math.max(1, Math.floor(n / 10)));
  const pcs = pcaEmbed(s.activations, s.dim, p);
  let ordering = 1;
  let r2sum = 0;
  for (const [name, f] of factors) {
    let score: number;
    if (f.categorical) {
      const [acc, chance] = probeAccuracy(pcs, p, f.values, o.seed);
      evidence[`probe/${name}`] = acc;
      evidence[`probeChance/${name}`] = chance;
      score = lift(acc, chance);
    } else {
      score = linearR2(pcs, p, f.values);
      evidence[`r2/${name}`] = score;
    }
    r2sum += score;
    ordering = Math.min(ordering, score);
  }
  await breathe();
  const embedding = await embed3d(s, o, neighbours, o.embed === 'umap' && n > o.nNeighbors);
  const dimRatio = intrinsicDim / factorDim;
  Object.assign(evidence, {
    intrinsicDim,
    dimRatio,
    structure,
    ordering,
    readoutDims: p,
    k,
    inputOk: problems.length === 0 ? 1 : 0,
    ...t,
  });
  const phase = classifyRepresentation({ dimRatio, structure, ordering, samplesOk: okShare }, t);
  const r2names = factors.filter(([, f]) => !f.categorical).map(([name]) => evidence[`r2/${name}`]);
  return {
    ...base,
    accuracy: Number.isFinite(okShare) ? okShare : 0,
    r2: { x: r2names[0] ?? 0, y: r2names[1] ?? 0, mean: r2sum / factors.length },
    embedding,
    phase,
    evidence,
    ...(problems.length > 0 ? { warning: `phase not judged: ${problems.join('; ')}` } : {}),
  };
}
