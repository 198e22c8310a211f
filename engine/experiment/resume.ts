import { join } from 'node:path';
import type { PhaseWatchState } from '../../operators/watch-phases.js';
import type { Model, Snapshot, SnapshotEvent } from '../../streams/events.js';
import { planResume } from '../store/resume.js';
import { readSnapshotArrays } from '../store/run-store.js';
import { latestCheckpoint } from './checkpoints.js';

/** The state a resumed run restores, from `planResume` and the stored snapshots. */
export interface Restore extends PhaseWatchState {
  /** Stored snapshots that have no assessment yet: assessed first. */
  reassess?: Snapshot[];
  /** Take the snapshot of the model's current step first (its event was lost). */
  snapshotNow?: boolean;
}

/**
 * Loads a stored run's newest checkpoint into `model` and says what the resumed run restores
 * and where its log is cut (`resumeAt`, for `RunStore.open`). Everything is read and checked
 * before the run's files change; nothing is written.
 *
 * @example
 * const { restore, resumeAt } = await restoreRun(dir, model, cfg.snapshotEvery);
 * const store = RunStore.open(dir, { hub, resumeAt });
 */
export async function restoreRun(
  runDir: string,
  model: Model,
  snapshotEvery: number,
): Promise<{ restore: Restore; resumeAt: number }> {
  const checkpoint = latestCheckpoint(runDir);
  if (checkpoint) await model.load(checkpoint.dir);
  // The step the weights hold decides (a checkpoint of an older version may be misnamed).
  const plan = planResume(runDir, model.step);
  return {
    resumeAt: plan.step,
    restore: {
      hysteresis: plan.hysteresis,
      phase: plan.phase,
      reassess: plan.unassessed.map((e) => storedSnapshot(runDir, e)),
      snapshotNow: model.step > 0 && model.step % snapshotEvery === 0 && !plan.snapshotAtStep,
      phaseEvent: plan.phaseEventDue,
    },
  };
}

/** A stored snapshot read back from its `.bin`, for assessing it again. */
function storedSnapshot(runDir: string, e: SnapshotEvent): Snapshot {
  const arrays = readSnapshotArrays(join(runDir, e.file));
  return { runId: e.runId, step: e.step, size: e.size, dim: e.dim, ...arrays };
}
