import { concat, connect, defer, EMPTY, merge, mergeMap, of, tap } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { EventInput, Phase, Snapshot } from '../streams/events.js';
import { assessPhases, type AssessPhasesOptions } from './assess-phases.js';
import { assessmentEvent, assessmentMetrics } from './assessment-events.js';
import { noiseLevelEvents } from './noise-level-events.js';
import { phaseEvents } from './phase-events.js';
import type { HysteresisState } from './phase-hysteresis.js';

/** Where a resumed run's phase watching left off (see `planResume`). */
export interface PhaseWatchState {
  /** The phase hysteresis after the run's last assessment. */
  hysteresis: HysteresisState;
  /** The phase the run's `phase` events had reached (default: `hysteresis.phase`). */
  phase?: Phase | null;
  /** A confirmed phase change whose `phase` event was lost: emitted first. */
  phaseEvent?: { from: Phase | null; to: Phase; step: number };
}

export interface WatchPhasesOptions extends Omit<AssessPhasesOptions, 'initial'> {
  /** A resumed run's state: hysteresis, the phase reached, a lost phase event. */
  initial?: PhaseWatchState;
}

/**
 * The bump experiment's phase watch as one operator: each snapshot is assessed
 * (`assessPhases`, one at a time, with hysteresis), and every assessment becomes an
 * `assessment` event (figures, embedding, thumbnails), its figures as `metric` events
 * (`phase/accuracy`, `phase/r2x`, …), a representation snapshot's noise-level probes
 * (`noiseLevelEvents`) and, when the confirmed phase changes, a `phase` event.
 * All of it is ready for `record()`.
 *
 * ```
 * snapshots: -a-----b-----c-----|      raw phases A B B, confirm = 2
 * result:    -(xmp)-(xm)--(xmp)-|      x: assessment, m: metrics, p: phase null→A, A→B
 * ```
 *
 * @example snapshots$.pipe(watchPhases({ confirm: 2, seed: 1 }), record(store)).subscribe();
 */
export function watchPhases(opts: WatchPhasesOptions = {}): OperatorFunction<Snapshot, EventInput> {
  const { initial, ...assessOpts } = opts;
  const assess = assessPhases({ ...assessOpts, initial: initial?.hysteresis });
  const lost = initial?.phaseEvent;
  const reached =
    initial?.phase !== undefined ? initial.phase : (initial?.hysteresis.phase ?? null);
  return (snapshots$) =>
    defer(() => {
      const bySteps = new Map<number, Snapshot>();
      return concat(
        lost ? of<EventInput>({ type: 'phase', ...lost, evidence: {} }) : EMPTY,
        snapshots$.pipe(
          tap((s) => bySteps.set(s.step, s)),
          assess,
          // both branches see every assessment: the assessment's events, then a phase change
          connect((assessed$) =>
            merge(
              assessed$.pipe(
                mergeMap((a) => {
                  const snap = bySteps.get(a.step);
                  bySteps.delete(a.step);
                  return snap
                    ? [
                        assessmentEvent(a, snap),
                        ...assessmentMetrics(a),
                        ...noiseLevelEvents(snap, assessOpts.seed),
                      ]
                    : assessmentMetrics(a);
                }),
              ),
              assessed$.pipe(phaseEvents(lost ? lost.to : reached)),
            ),
          ),
        ),
      );
    });
}
