import type { Snapshot } from '../../streams/events.js';
import { linearR2 } from './linear-r2.js';
import {
  accuracy,
  fitLinearProbe,
  gatherRows,
  probeLogits,
  splitTrainTest,
} from './linear-probe.js';
import { pcaEmbed } from './pca-embed.js';
import { averageLogits, ensembleMembers } from './soft-vote.js';

/** One factor probed across the noise levels of a snapshot. */
export interface NoiseLevelCurve {
  factor: string;
  categorical: boolean;
  /** The timesteps, ascending. */
  t: number[];
  /** Held-out probe accuracy (categorical) or read-out R² (continuous) at each t. */
  score: number[];
  /** The t of the best score, and that score. */
  peakT: number;
  peak: number;
  /** Categorical: accuracy of the soft vote of the probes at the peak and its neighbours. */
  ensemble?: number;
}

/** Components the probes read (few, so a probe on 200 samples does not overfit). */
const COMPONENTS = 16;

/**
 * Seed 002's noise-level probes for any model: for each factor of a representation snapshot
 * and each of its `noiseLevels`, a linear read-out from the top principal components of the
 * activations at that timestep — a softmax probe's accuracy on a held-out 30 % for a
 * categorical factor, R² for a continuous one — the peak over t and, for a categorical
 * factor, the soft-vote ensemble of the probes at the peak and its two neighbours in t.
 * Deterministic given `seed`. Empty when the snapshot has no noise levels.
 *
 * @example noiseLevelProbes(snap)[0].peakT; // the timestep whose features best give the class
 */
export function noiseLevelProbes(s: Snapshot, seed = 1): NoiseLevelCurve[] {
  const levels = [...(s.noiseLevels ?? [])].sort((a, b) => a.t - b.t);
  const factors = Object.entries(s.factors ?? {});
  if (levels.length === 0 || factors.length === 0) return [];
  const n = factors[0][1].values.length;
  levels.forEach((l, i) => {
    if (!Number.isInteger(l.dim) || l.dim < 1 || l.activations.length !== n * l.dim) {
      throw new Error(
        `snapshot.noiseLevels[${i}] (t = ${l.t}) must hold N*dim = ${n}*${l.dim} activations (got ${l.activations.length})`,
      );
    }
    const bad = l.activations.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new Error(`snapshot.noiseLevels[${i}] (t = ${l.t}) holds a non-finite value at ${bad}`);
    }
  });
  const { train, test } = splitTrainTest(n, 0.3, seed);
  const features = levels.map((l) => {
    const p = Math.min(l.dim, COMPONENTS, Math.max(1, Math.floor(n / 10)));
    return { p, x: pcaEmbed(l.activations, l.dim, p) };
  });
  const t = levels.map((l) => l.t);
  return factors.map(([factor, f]) => {
    if (!f.categorical) {
      const score = features.map(({ p, x }) => linearR2(x, p, f.values));
      const best = score.indexOf(Math.max(...score));
      return { factor, categorical: false, t, score, peakT: t[best], peak: score[best] };
    }
    const labels = Int32Array.from(f.values);
    const classes = Math.max(...labels) + 1;
    const trainY = Int32Array.from(train, (i) => labels[i]);
    const testY = Int32Array.from(test, (i) => labels[i]);
    const logits = features.map(({ p, x }) => {
      const probe = fitLinearProbe(gatherRows(x, p, train), trainY, p, { classes });
      return probeLogits(probe, gatherRows(x, p, test));
    });
    const score = logits.map((l) => accuracy(l, testY));
    const best = score.indexOf(Math.max(...score));
    const members = ensembleMembers(t.length, best, 1, 1).map((i) => logits[i]);
    const ensemble = accuracy(averageLogits(members), testY);
    return { factor, categorical: true, t, score, peakT: t[best], peak: score[best], ensemble };
  });
}
