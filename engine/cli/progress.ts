import type { AssessmentEvent, Phase, RunEvent } from '../../streams/events.js';

/** What the progress bar shows; folded from the run's events. */
export interface ProgressState {
  step: number;
  /** The step the run will end at; 0 when unknown (no bar, no ETA). */
  total: number;
  loss: number;
  phase: Phase | null;
  examplesPerSec: number;
  startedAt: number;
  now: number;
  /** The step this process started at (a resumed run starts past 0); the ETA counts from it. */
  startStep?: number;
}

/** The state before any step: `total` steps to reach, starting at `startStep`. */
export function newProgress(total: number, startStep = 0, now = Date.now()): ProgressState {
  return {
    step: startStep,
    total,
    loss: NaN,
    phase: null,
    examplesPerSec: 0,
    startedAt: now,
    now,
    startStep,
  };
}

/** The `steps` a run-start's stored config says the run goes to, if any. */
function plannedSteps(e: RunEvent): number | undefined {
  if (e.type !== 'run-start') return undefined;
  const steps = (e.meta?.config as Record<string, unknown> | undefined)?.steps;
  return typeof steps === 'number' && Number.isFinite(steps) && steps > 0 ? steps : undefined;
}

/** Folds one event into the progress state. A run-start sets the total from the run's config. */
export function advanceProgress(state: ProgressState, e: RunEvent): ProgressState {
  switch (e.type) {
    case 'run-start':
      return {
        ...state,
        total: plannedSteps(e) ?? state.total,
        step: e.step,
        startStep: e.step,
        startedAt: e.time,
        now: e.time,
      };
    case 'step':
      return {
        ...state,
        step: e.step,
        loss: e.loss,
        examplesPerSec: e.examplesPerSec,
        now: e.time,
      };
    case 'assessment':
      return { ...state, phase: e.phase, now: e.time };
    case 'phase':
      return { ...state, phase: e.to, now: e.time };
    default:
      return state;
  }
}

/** `m:ss` or `h:mm:ss`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '--:--';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/**
 * One line of progress: steps, a bar, loss, current phase, throughput and ETA. Without a known
 * total (a script's run that does not store `steps`) it shows the step count alone.
 *
 * @example
 * progressLine(state) // 'step 1200/3000 [########------------] loss 0.0412 phase B 61 ex/s ETA 4:05'
 */
export function progressLine(state: ProgressState, width = 20): string {
  const elapsed = state.now - state.startedAt;
  const tail =
    `loss ${state.loss.toFixed(4)} phase ${state.phase ?? '-'} ` +
    `${Math.round(state.examplesPerSec)} ex/s elapsed ${formatDuration(elapsed)}`;
  if (!(state.total > 0)) return `step ${state.step} ${tail}`;
  const frac = Math.min(1, Math.max(0, state.step / state.total));
  const filled = Math.round(frac * width);
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  const done = state.step - (state.startStep ?? 0);
  const eta = done > 0 ? (elapsed / done) * (state.total - state.step) : NaN;
  return `step ${state.step}/${state.total} [${bar}] ${tail} ETA ${formatDuration(eta)}`;
}

/**
 * The figures of one assessment, for the line printed after it: the bump rule's accuracy,
 * one-bump share and R², or the representation rule's structure, ordering, samples ok (`-` when
 * no verdicts were sent: evidence −1) and intrinsic dimension.
 *
 * @example
 * assessmentFiguresLine(e) // 'acc 0.81 one-bump 0.92 R² 0.88'
 */
export function assessmentFiguresLine(
  e: Pick<AssessmentEvent, 'accuracy' | 'bumps' | 'r2' | 'evidence' | 'rule'>,
): string {
  if (e.rule !== 'representation') {
    return `acc ${e.accuracy.toFixed(2)} one-bump ${e.bumps.one.toFixed(2)} R² ${e.r2.mean.toFixed(2)}`;
  }
  const v = e.evidence;
  const fig = (x: number | undefined): string =>
    x !== undefined && Number.isFinite(x) ? x.toFixed(2) : '-';
  return `structure ${fig(v.structure)} ordering ${fig(v.ordering)} samples ok ${fig(v.samplesOk >= 0 ? v.samplesOk : NaN)} dim ${fig(v.intrinsicDim)}`;
}
