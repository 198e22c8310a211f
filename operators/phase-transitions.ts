import { filter, map, pipe, scan } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { Phase } from '../streams/events.js';
import type { Assessment } from '../streams/events.js';

/** A change of the reported phase; the engine wraps it into a `PhaseEvent`. */
export interface PhaseTransition {
  step: number;
  from: Phase | null;
  to: Phase;
  evidence: Record<string, number>;
}

/**
 * Emits when the assessed `phase` changes, and once for the first assessment (from null),
 * carrying the step and evidence of the assessment where the change was seen.
 *
 * ```
 * assessments: -A-A-B-B-C-|
 * result:      -a---b---c-|    a: null→A, b: A→B, c: B→C
 * ```
 *
 * @example assessed$.pipe(phaseTransitions()).subscribe((t) => console.log(t.from, '→', t.to));
 */
export function phaseTransitions(
  initial: Phase | null = null,
): OperatorFunction<Assessment, PhaseTransition> {
  interface Acc {
    prev: Phase | null;
    a: Assessment | null;
  }
  return pipe(
    // An assessment whose phase is withheld (`warning`) changes nothing.
    filter((a: Assessment) => !a.warning),
    scan((acc: Acc, a: Assessment): Acc => ({ prev: acc.a ? acc.a.phase : acc.prev, a }), {
      prev: initial,
      a: null,
    }),
    filter((acc) => acc.a !== null && acc.a.phase !== acc.prev),
    map(({ prev, a }) => {
      const cur = a as Assessment;
      return { step: cur.step, from: prev, to: cur.phase, evidence: cur.evidence };
    }),
  );
}
