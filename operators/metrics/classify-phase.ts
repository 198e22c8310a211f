import type { Phase } from '../../streams/events.js';

/** The figures the phase rule reads (all fractions in 0..1). */
export interface PhaseEvidence {
  /** Fraction of images with exactly one bump. */
  oneBump: number;
  /** Fraction of one-bump images whose bump is within tolerance of its label. */
  accuracyOneBump: number;
  /** Mean R² of the linear fits of the embedding onto x and onto y. */
  r2mean: number;
  /** Label-space vs activation-space k-NN overlap. */
  neighbourhood: number;
}

export interface PhaseThresholds {
  /** Below this one-bump fraction the model is in A (no bump or several). */
  minOneBump: number;
  /** C needs at least this accuracy among one-bump images... */
  minAccuracyOneBump: number;
  /** ...and at least this mean R² on the embedding... */
  minR2: number;
  /** ...and at least this neighbourhood preservation. */
  minNeighbourhood: number;
}

/**
 * Thresholds calibrated on synthetic snapshots (spec/operators/metrics/assess-snapshot.spec.ts) and on
 * real runs of the default experiment (docs/phases.md): there one-bump samples were 0.89–1.00
 * in place once ordered, while the UMAP R² wandered between 0.4 and 0.95 and fell late in training, so R² only guards
 * against a scrambled embedding. With k = 10 neighbours and 200 points, unrelated spaces give a
 * neighbourhood preservation near 0.05 and an ordered 2-D manifold 0.4 or more.
 */
export const defaultPhaseThresholds: Readonly<PhaseThresholds> = Object.freeze({
  minOneBump: 0.5,
  minAccuracyOneBump: 0.8,
  minR2: 0.3,
  minNeighbourhood: 0.25,
});

/**
 * Seed 004's phase rule. A: fewer than half the images show one bump. C: the bumps are in the
 * right place AND the representation is an ordered 2-D map of (x, y) (R² and neighbourhood).
 * Anything else is B. R² alone never gives C: the (x, y) encodings are injected into every block,
 * so activations correlate with the labels from step 0 even when the images are wrong.
 *
 * @example classifyPhase({ oneBump: 0.9, accuracyOneBump: 0.8, r2mean: 0.9, neighbourhood: 0.5 }); // 'C'
 */
export function classifyPhase(
  evidence: PhaseEvidence,
  thresholds: Partial<PhaseThresholds> = {},
): Phase {
  const t = { ...defaultPhaseThresholds, ...thresholds };
  if (!(evidence.oneBump >= t.minOneBump)) return 'A';
  if (
    evidence.accuracyOneBump >= t.minAccuracyOneBump &&
    evidence.r2mean >= t.minR2 &&
    evidence.neighbourhood >= t.minNeighbourhood
  ) {
    return 'C';
  }
  return 'B';
}

/**
 * Throws a one-line error naming the first threshold outside [0, 1]; returns the merged set.
 * @example checkPhaseThresholds({ minR2: 0.7 }).minR2; // 0.7
 */
export function checkPhaseThresholds(thresholds: Partial<PhaseThresholds> = {}): PhaseThresholds {
  const t = { ...defaultPhaseThresholds, ...thresholds };
  for (const key of Object.keys(defaultPhaseThresholds) as (keyof PhaseThresholds)[]) {
    const v: unknown = t[key];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new Error(`thresholds.${key} must be a number in [0, 1] (got ${String(v)})`);
    }
  }
  return t;
}
