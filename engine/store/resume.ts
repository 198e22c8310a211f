import type {
  AssessmentEvent,
  Phase,
  PhaseEvent,
  RunEvent,
  SnapshotEvent,
} from '../../streams/events.js';
import { readRunLog, type BadLine, type RunLog } from '../../streams/replay.js';
import type { HysteresisState } from '../../operators/phase-hysteresis.js';
import { readRunMeta, metaLastSeq } from './run-store.js';

/** What resuming a stored run at a checkpoint step means for its log; nothing is changed. */
export interface ResumePlan {
  runId: string;
  /** The checkpoint step resumed from. */
  step: number;
  /** Events kept: every event of a step up to `step`, but a run-end. */
  kept: number;
  /** Events dropped: those of later steps (they will be produced again), and a run-end. */
  dropped: number;
  /** Highest `seq` ever written; the resumed run continues above it. */
  lastSeq: number;
  /** Highest step of a kept `step` event (below `step` when steps before the checkpoint were lost). */
  lastLoggedStep: number;
  /** Unreadable lines of `events.jsonl`, skipped (and kept in the file as they are). */
  badLines: BadLine[];
  /** Kept snapshot events with no assessment of the same step, oldest first: assess these again. */
  unassessed: SnapshotEvent[];
  /** True when a snapshot event of exactly `step` is kept. */
  snapshotAtStep: boolean;
  /** The confirmed phase after the last kept assessment (null before the first). */
  phase: Phase | null;
  /**
   * The phase hysteresis as it stood after the last kept assessment: restore it so the
   * resumed run neither repeats `null → A` nor loses a challenger's streak.
   */
  hysteresis: HysteresisState;
  /**
   * A phase change the kept assessments confirmed but no kept `phase` event records (the run
   * was killed between the two): append it on resume.
   */
  phaseEventDue?: { from: Phase | null; to: Phase; step: number };
}

/**
 * Reads a stored run and says what resuming it from the checkpoint of `step` involves:
 * which events go (those of later steps), which snapshots still need an assessment, and the
 * phase state to restore (`given`: the run's log, when the caller has read it already).
 * Read-only: call it before anything that could fail, then
 * `RunStore.open(dir, { resumeAt: plan.step })` once the resume is sure to proceed.
 *
 * @example
 * const plan = planResume('runs/abc', 100);
 * const store = RunStore.open('runs/abc', { hub, resumeAt: plan.step });
 */
export function planResume(dir: string, step: number, given?: RunLog): ResumePlan {
  if (!Number.isInteger(step) || step < 0) {
    throw new Error(`checkpoint step must be an integer >= 0 (got ${String(step)})`);
  }
  const meta = readRunMeta(dir);
  const log = given ?? readRunLog(dir);
  const kept: RunEvent[] = [];
  let dropped = 0;
  for (const e of log.events) {
    // As RunStore.open drops them: later steps, and a run-end (the run goes on).
    if (e.step <= step && e.type !== 'run-end') kept.push(e);
    else dropped++;
  }
  const assessed = new Set<number>();
  const snapshots: SnapshotEvent[] = [];
  const assessments: AssessmentEvent[] = [];
  let lastPhaseEvent: PhaseEvent | undefined;
  let lastLoggedStep = 0;
  for (const e of kept) {
    if (e.type === 'assessment') {
      assessed.add(e.step);
      if (!e.warning) assessments.push(e); // a withheld verdict moved no phase
    } else if (e.type === 'snapshot') snapshots.push(e);
    else if (e.type === 'phase') {
      if (!lastPhaseEvent || e.step >= lastPhaseEvent.step) lastPhaseEvent = e;
    } else if (e.type === 'step' && e.step > lastLoggedStep) lastLoggedStep = e.step;
  }
  assessments.sort((a, b) => a.step - b.step);
  const hysteresis = hysteresisAfter(assessments);
  const logged = lastPhaseEvent?.to ?? null;
  const plan: ResumePlan = {
    runId: meta.runId,
    step,
    kept: kept.length,
    dropped,
    lastSeq: Math.max(log.lastSeq, metaLastSeq(dir)),
    lastLoggedStep,
    badLines: log.bad,
    unassessed: snapshots.filter((s) => !assessed.has(s.step)).sort((a, b) => a.step - b.step),
    snapshotAtStep: snapshots.some((s) => s.step === step),
    phase: hysteresis.phase,
    hysteresis,
  };
  if (hysteresis.phase !== null && hysteresis.phase !== logged) {
    // The change happened at the first of the trailing assessments that confirm the phase.
    let i = assessments.length - 1;
    while (
      i > 0 &&
      assessments[i - 1].phase === hysteresis.phase &&
      assessments[i - 1].step > (lastPhaseEvent?.step ?? -1)
    ) {
      i--;
    }
    plan.phaseEventDue = { from: logged, to: hysteresis.phase, step: assessments[i].step };
  }
  return plan;
}

/**
 * The hysteresis state after a run of assessments (in step order), from what each records:
 * the confirmed `phase` and its own `rawPhase`. Equal to folding `nextHysteresis` over the raw
 * phases, whatever `confirm` was: the challenger is the last raw phase if it differs from the
 * confirmed one, and its streak the number of assessments it has held for since.
 */
export function hysteresisAfter(all: readonly AssessmentEvent[]): HysteresisState {
  // Withheld verdicts (a `warning`) moved nothing.
  const assessments = all.filter((a) => !a.warning);
  const last = assessments[assessments.length - 1];
  if (!last) return { phase: null, candidate: null, streak: 0 };
  const raw = last.rawPhase ?? last.phase;
  if (raw === last.phase) return { phase: last.phase, candidate: null, streak: 0 };
  let streak = 0;
  for (let i = assessments.length - 1; i >= 0; i--) {
    const a = assessments[i];
    if ((a.rawPhase ?? a.phase) !== raw || a.phase !== last.phase) break;
    streak++;
  }
  return { phase: last.phase, candidate: raw, streak };
}
