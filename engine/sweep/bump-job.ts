/**
 * The job a bump-experiment sweep runs in each child: the default experiment with the sweep's
 * base config (`job.context`) overridden by the point, stored under the job's runId.
 */
import type { Observable } from 'rxjs';
import type { RunEvent } from '../../streams/events.js';
import type { SweepJob } from '../../streams/sweep.js';
import type { ExperimentConfig } from '../config.js';
import { runExperiment } from '../experiment.js';

/** The module URL to hand `childProcesses({ module })` for bump-experiment sweeps. */
export const BUMP_JOB = new URL(import.meta.url);

export default function bumpJob(point: SweepJob['point'], job: SweepJob): Observable<RunEvent> {
  const base = (job.context ?? {}) as Partial<ExperimentConfig>;
  const { name, tags, notes, ...rest } = { ...base, ...point } as Partial<ExperimentConfig>;
  return runExperiment(
    { ...rest, runId: job.runId },
    { runsDir: job.runsDir, name: name ?? job.key, tags: [...(tags ?? []), 'sweep'], notes },
  );
}
