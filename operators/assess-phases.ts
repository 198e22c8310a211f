import { concatMap, from, pipe } from 'rxjs';
import type { Observable, OperatorFunction } from 'rxjs';
import type { Assessment, Snapshot } from '../streams/events.js';
import { assessAny } from './metrics/assess-any.js';
import { checkAssessOptions, type AssessOptions } from './metrics/assess-snapshot.js';
import {
  phaseHysteresis,
  type HysteresisState,
  type PhasedAssessment,
} from './phase-hysteresis.js';

export interface AssessPhasesOptions extends AssessOptions {
  /** Consecutive snapshots a new raw phase must hold before it is reported (2). */
  confirm?: number;
  /** Replaces `assessAny` (tests inject a fake so marbles need no UMAP). */
  assess?: (s: Snapshot, opts: AssessOptions) => Promise<Assessment> | Observable<Assessment>;
  /** Hysteresis state to start from (a resumed run restores its own). */
  initial?: HysteresisState;
}

/**
 * Assesses each snapshot in order (one at a time, concatMap; `assessAny`: the bump rule, or the
 * generic representation rule for a snapshot with `factors`) and smooths the phase with
 * hysteresis: the first snapshot's phase is its raw phase, later changes need `confirm`
 * consecutive snapshots. Each output keeps the snapshot's own verdict in `rawPhase`.
 *
 * ```
 * snapshots: -a-b-c-d-|        raw A B B C, confirm = 2
 * result:    -A-A-B-B-|
 * ```
 *
 * @example snapshots$.pipe(assessPhases({ confirm: 2, seed: 1 }), phaseTransitions());
 */
export function assessPhases(
  opts: AssessPhasesOptions = {},
): OperatorFunction<Snapshot, PhasedAssessment> {
  const { confirm = 2, assess = assessAny, initial, ...assessOpts } = opts;
  checkAssessOptions(assessOpts);
  if (typeof assess !== 'function')
    throw new Error(`assess must be a function (got ${typeof assess})`);
  return pipe(
    concatMap((s: Snapshot) => from(assess(s, assessOpts))),
    phaseHysteresis(confirm, initial),
  );
}
