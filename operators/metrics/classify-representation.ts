import type { Phase } from '../../streams/events.js';

/** The figures the generic representation rule reads. */
export interface RepresentationEvidence {
  /** TWO-NN intrinsic dimension of the activations divided by the number of factors. */
  dimRatio: number;
  /**
   * How far activation-space neighbourhoods are from chance towards the factors' own, 0..1:
   * 0 at chance, 1 when neighbours in activation space are neighbours in factor space.
   */
  structure: number;
  /** The worst factor's read-out, 0..1: linear R² (continuous) or probe accuracy above chance (categorical). */
  ordering: number;
  /** Fraction of generated samples the trainer judged ok; NaN when none were sent. */
  samplesOk: number;
}

export interface RepresentationThresholds {
  /** A when the intrinsic dimension is more than this many times the factors' dimension... */
  maxDimRatio: number;
  /** ...and neighbourhoods are within this of chance (structure below it). */
  maxChanceStructure: number;
  /** A too when fewer than this fraction of the samples are ok and neighbourhoods are not kept. */
  minSamplesOk: number;
  /** C needs every factor read out at least this well... */
  minOrdering: number;
  /** ...neighbourhoods at least this far from chance... */
  minStructure: number;
  /** ...and, when verdicts are sent, at least this fraction of the samples ok. */
  minSamplesOkC: number;
}

/**
 * Calibrated on synthetic activations (spec/operators/metrics/assess-representation.spec.ts:
 * noise, scrambled and ordered sheets for 1–3 factors) and checked against the bump rule on real
 * bump runs (docs/phases.md). Unstructured activations (Gaussian noise in 32+ dimensions,
 * 200 samples) give a dimension ratio of 5 or more and structure under 0.05; a scrambled sheet
 * about 1 and under 0.05; an ordered sheet structure 0.3 or more and read-outs near 1.
 */
export const defaultRepresentationThresholds: Readonly<RepresentationThresholds> = Object.freeze({
  maxDimRatio: 3,
  maxChanceStructure: 0.1,
  minSamplesOk: 0.5,
  minOrdering: 0.5,
  minStructure: 0.2,
  minSamplesOkC: 0.8,
});

/**
 * Seed 004's phases on the representation alone. A: no structure — the dimension far above the
 * factors' with neighbourhoods at chance, or most generated samples invalid while neighbourhoods
 * are not kept (an ordered representation whose samples are still wrong is B). C: an ordered
 * manifold — every factor read out, neighbourhoods kept and (when sent) the samples mostly ok.
 * Anything else is B: a manifold that does not order the factors.
 *
 * @example classifyRepresentation({ dimRatio: 1, structure: 0.6, ordering: 0.9, samplesOk: NaN }); // 'C'
 */
export function classifyRepresentation(
  e: RepresentationEvidence,
  thresholds: Partial<RepresentationThresholds> = {},
): Phase {
  const t = { ...defaultRepresentationThresholds, ...thresholds };
  const judged = Number.isFinite(e.samplesOk);
  if (judged && e.samplesOk < t.minSamplesOk && !(e.structure >= t.minStructure)) return 'A';
  if (e.dimRatio > t.maxDimRatio && !(e.structure >= t.maxChanceStructure)) return 'A';
  if (
    e.ordering >= t.minOrdering &&
    e.structure >= t.minStructure &&
    (!judged || e.samplesOk >= t.minSamplesOkC)
  ) {
    return 'C';
  }
  return 'B';
}

/**
 * Throws a one-line error naming the first bad threshold (fractions in [0, 1], `maxDimRatio` a
 * number >= 1); returns the merged set.
 * @example checkRepresentationThresholds({ minOrdering: 0.7 }).minOrdering; // 0.7
 */
export function checkRepresentationThresholds(
  thresholds: Partial<RepresentationThresholds> = {},
): RepresentationThresholds {
  const t = { ...defaultRepresentationThresholds, ...thresholds };
  for (const key of Object.keys(
    defaultRepresentationThresholds,
  ) as (keyof RepresentationThresholds)[]) {
    const v: unknown = t[key];
    if (key === 'maxDimRatio') {
      if (typeof v !== 'number' || !(v >= 1) || !Number.isFinite(v)) {
        throw new Error(`representation.${key} must be a finite number >= 1 (got ${String(v)})`);
      }
    } else if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new Error(`representation.${key} must be a number in [0, 1] (got ${String(v)})`);
    }
  }
  return t;
}
