/**
 * The job a bump-experiment sweep runs in each child: the default experiment with the sweep's
 * base config (`job.context`) overridden by the point, stored under the job's runId.
 */
import type { Observable } from 'rxjs';
import type { RunEvent } from '../../../streams/events.js';
import type { SweepJob } from '../../../streams/sweep.js';
import type { ExperimentConfig } from '../config.js';
import { runExperiment, type RunOptions } from '../run-experiment.js';

/** The module URL to hand `childProcesses({ module })` for bump-experiment sweeps. */
export const BUMP_JOB = new URL(import.meta.url);

export type BumpJobOptions = Pick<RunOptions, 'operators'>;

/**
 * Runs one sweep point as the default experiment: `job.context` (a base config) overridden by
 * the point, stored as `job.runId` in `job.runsDir`, tagged `sweep` and `sweep:<the sweep's
 * name>`; `opts.operators` are applied to every snapshot. A script's own job export wraps it to
 * add operators.
 *
 * @example export const job = (p, j) => bumpJob(p, j, { operators: [myMetric()] });
 */
export function bumpJob(
  point: SweepJob['point'],
  job: SweepJob,
  opts: BumpJobOptions = {},
): Observable<RunEvent> {
  const base = (job.context ?? {}) as Partial<ExperimentConfig>;
  const { name, tags, notes, ...rest } = { ...base, ...point } as Partial<ExperimentConfig>;
  return runExperiment(
    { ...rest, runId: job.runId },
    {
      runsDir: job.runsDir,
      name: name ?? job.key,
      tags: [...(tags ?? []), 'sweep', ...(job.sweep ? [`sweep:${job.sweep}`] : [])],
      notes,
      operators: opts.operators,
    },
  );
}

export default function defaultBumpJob(
  point: SweepJob['point'],
  job: SweepJob,
): Observable<RunEvent> {
  return bumpJob(point, job);
}
