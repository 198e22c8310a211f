import type { Phase } from '../streams/events.js';

/**
 * The bump rule as the dashboard and the report show it: which figure each condition reads,
 * the chart that figure is drawn on, and the evidence key holding its threshold. The threshold
 * values themselves are never copied here: every assessment carries the ones it was judged by
 * in its `evidence` (`minOneBump`, …), and views read them from there.
 */
export interface PhaseCondition {
  /** The evidence key of the figure (`oneBump`). */
  figure: string;
  /** The metric the figure is charted as (`phase/one-bump`). */
  metric: string;
  /** The evidence key of its threshold (`minOneBump`). */
  threshold: string;
  /** How a person reads it. */
  label: string;
}

/** One-bump share: below it the model is in A. */
export const ONE_BUMP: PhaseCondition = {
  figure: 'oneBump',
  metric: 'phase/one-bump',
  threshold: 'minOneBump',
  label: 'one-bump share',
};

/** The conditions C needs on top of leaving A, in the order the rule states them. */
export const C_CONDITIONS: readonly PhaseCondition[] = [
  {
    figure: 'accuracyOneBump',
    metric: 'evidence/accuracyOneBump',
    threshold: 'minAccuracyOneBump',
    label: 'accuracy among one-bump',
  },
  { figure: 'r2mean', metric: 'phase/r2', threshold: 'minR2', label: 'R² of the embedding' },
  {
    figure: 'neighbourhood',
    metric: 'evidence/neighbourhood',
    threshold: 'minNeighbourhood',
    label: 'neighbourhood',
  },
];

/** Every condition of the rule: A below the first; C when all hold. */
export const PHASE_CONDITIONS: readonly PhaseCondition[] = [ONE_BUMP, ...C_CONDITIONS];

/**
 * Evidence keys that are settings of the assessment, the same at every snapshot (the
 * thresholds, the sample count, the tolerance): shown with the rule, never charted.
 */
export const RULE_SETTINGS: readonly string[] = [
  ...PHASE_CONDITIONS.map((c) => c.threshold),
  'n',
  'tol',
  // the representation rule's (operators/metrics/classify-representation.ts) and its sizes
  'maxDimRatio',
  'maxChanceStructure',
  'minSamplesOk',
  'minOrdering',
  'minStructure',
  'minSamplesOkC',
  'dim',
  'factors',
  'factorDim',
  'readoutDims',
  'k',
];

/** Evidence figures that are also emitted under a `phase/` name: charted once, there. */
export const EVIDENCE_TWINS: Readonly<Record<string, string>> = {
  oneBump: 'phase/one-bump',
  none: 'phase/no-bump',
  many: 'phase/many-bumps',
  accuracy: 'phase/accuracy',
  r2x: 'phase/r2x',
  r2y: 'phase/r2y',
  r2mean: 'phase/r2',
};

/**
 * Whether a metric name is worth a chart of its own among `names` (the names a run holds): an
 * `evidence/` setting is not, nor an `evidence/` figure whose `phase/` twin is there.
 *
 * @example
 * chartedMetric('evidence/minR2', ['evidence/minR2']); // false
 * chartedMetric('evidence/r2x', ['evidence/r2x', 'phase/r2x']); // false
 * chartedMetric('evidence/neighbourhood', ['evidence/neighbourhood']); // true
 */
export function chartedMetric(
  name: string,
  names: ReadonlySet<string> | readonly string[],
): boolean {
  if (!name.startsWith('evidence/')) return true;
  const key = name.slice('evidence/'.length);
  if (RULE_SETTINGS.includes(key)) return false;
  const twin = EVIDENCE_TWINS[key];
  const has = (n: string) => ('has' in names ? names.has(n) : names.includes(n));
  return !(twin !== undefined && has(twin));
}

/** A condition as one assessment met it, or not. */
export interface ConditionState {
  condition: PhaseCondition;
  value: number;
  threshold: number;
  holds: boolean;
}

/**
 * Each condition of the rule with the figure and the threshold an assessment's evidence holds;
 * a condition whose figure or threshold the evidence lacks is left out (older or hand-made runs).
 */
export function conditionStates(evidence: Record<string, number>): ConditionState[] {
  return PHASE_CONDITIONS.flatMap((condition) => {
    const value = evidence[condition.figure];
    const threshold = evidence[condition.threshold];
    if (!Number.isFinite(value) || !Number.isFinite(threshold)) return [];
    return [{ condition, value, threshold, holds: value >= threshold }];
  });
}

/**
 * The condition that decided a move to phase `to`, judged on the evidence of the assessment
 * that made it: into or out of A, the one-bump share; into C, the condition with the least
 * margin (the last to be met); from C back to B, the condition furthest below its threshold.
 * Undefined when the evidence holds none of the rule's figures.
 *
 * @example
 * decidingCondition('A', 'C', { oneBump: 0.9, minOneBump: 0.5, r2mean: 0.35, minR2: 0.3 })?.condition.figure;
 * // 'r2mean'
 */
export function decidingCondition(
  from: Phase | null,
  to: Phase,
  evidence: Record<string, number>,
): ConditionState | undefined {
  const states = conditionStates(evidence);
  const oneBump = states.find((s) => s.condition === ONE_BUMP);
  if (to === 'A' || ((from === 'A' || from === null) && to === 'B')) return oneBump;
  const margin = (s: ConditionState) => s.value - s.threshold;
  const pool = to === 'C' ? states : states.filter((s) => s.condition !== ONE_BUMP && !s.holds);
  return [...pool].sort((a, b) => margin(a) - margin(b))[0] ?? oneBump;
}

/** `R² of the embedding 0.412 ≥ 0.3` (or `<`): a condition as a person reads it. */
export function describeCondition(s: ConditionState): string {
  return `${s.condition.label} ${round(s.value)} ${s.holds ? '≥' : '<'} ${round(s.threshold)}`;
}

function round(v: number): string {
  return String(Number(v.toPrecision(3)));
}
