import { map, scan } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { Phase } from '../streams/events.js';
import type { Assessment } from '../streams/events.js';

/** The reported phase and a challenger that has held for `streak` consecutive snapshots. */
export interface HysteresisState {
  phase: Phase | null;
  candidate: Phase | null;
  streak: number;
}

/** An assessment whose `phase` is confirmed by hysteresis; `rawPhase` is this snapshot's own. */
export type PhasedAssessment = Assessment & { rawPhase: Phase };

/**
 * One step of the phase hysteresis: the first raw phase is taken as is; afterwards the reported
 * phase changes only once a different raw phase has held for `confirm` consecutive snapshots.
 *
 * @example nextHysteresis({ phase: 'A', candidate: 'B', streak: 1 }, 'B', 2).phase; // 'B'
 */
export function nextHysteresis(
  state: HysteresisState,
  raw: Phase,
  confirm: number,
): HysteresisState {
  if (state.phase === null || raw === state.phase)
    return { phase: raw, candidate: null, streak: 0 };
  const streak = raw === state.candidate ? state.streak + 1 : 1;
  return streak >= confirm
    ? { phase: raw, candidate: null, streak: 0 }
    : { phase: state.phase, candidate: raw, streak };
}

/**
 * Applies `nextHysteresis` along a stream of assessments: `phase` becomes the confirmed phase and
 * the assessment's own phase moves to `rawPhase`. An assessment with a `warning` (its phase
 * withheld) leaves the state as it is; its `phase` is the confirmed one (its own when none is
 * confirmed yet), which `phaseTransitions` and the phase bands pass over.
 *
 * ```
 * raw:      -A-B-A-B-B-C-|    confirm = 2
 * phase:    -A-A-A-A-B-B-|
 * ```
 *
 * @example assessments$.pipe(phaseHysteresis(2));
 */
export function phaseHysteresis(
  confirm = 2,
  initial: HysteresisState = { phase: null, candidate: null, streak: 0 },
): OperatorFunction<Assessment, PhasedAssessment> {
  if (!Number.isInteger(confirm) || confirm < 1) {
    throw new Error(`confirm must be an integer >= 1 (got ${String(confirm)})`);
  }
  const start: HysteresisState & { a?: Assessment } = { ...initial };
  return (source) =>
    source.pipe(
      scan(
        (s: HysteresisState & { a?: Assessment }, a: Assessment) =>
          // A withheld verdict (the input is not what the rule assumes) moves nothing.
          a.warning ? { ...s, a } : { ...nextHysteresis(s, a.phase, confirm), a },
        start,
      ),
      map((s) => {
        const a = s.a as Assessment;
        return { ...a, rawPhase: a.phase, phase: s.phase ?? a.phase };
      }),
    );
}
