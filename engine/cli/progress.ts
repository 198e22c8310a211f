import type { Phase, RunEvent } from '../../streams/events.js';

/** What the progress bar shows; folded from the run's events. */
export interface ProgressState {
  step: number;
  total: number;
  loss: number;
  phase: Phase | null;
  examplesPerSec: number;
  startedAt: number;
  now: number;
}

/** Folds one event into the progress state. */
export function advanceProgress(state: ProgressState, e: RunEvent): ProgressState {
  switch (e.type) {
    case 'step':
      return { ...state, step: e.step, loss: e.loss, examplesPerSec: e.examplesPerSec, now: e.time };
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
 * One line of progress: steps, a bar, loss, current phase, throughput and ETA.
 *
 * @example
 * progressLine(state) // 'step 1200/3000 [########------------] loss 0.0412 phase B 61 ex/s ETA 4:05'
 */
export function progressLine(state: ProgressState, width = 20): string {
  const frac = state.total ? Math.min(1, state.step / state.total) : 0;
  const filled = Math.round(frac * width);
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  const elapsed = state.now - state.startedAt;
  const eta = state.step > 0 ? (elapsed / state.step) * (state.total - state.step) : NaN;
  return (
    `step ${state.step}/${state.total} [${bar}] loss ${state.loss.toFixed(4)} ` +
    `phase ${state.phase ?? '-'} ${Math.round(state.examplesPerSec)} ex/s ` +
    `elapsed ${formatDuration(elapsed)} ETA ${formatDuration(eta)}`
  );
}
