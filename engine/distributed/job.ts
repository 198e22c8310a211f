/**
 * What a queued run is: the sweep's job (`SweepJob`, plain JSON) and the function that runs
 * it on a worker, named by module and export so any worker machine can import it.
 */
import type { Observable } from 'rxjs';
import type { RunEvent } from '../../streams/events.js';
import type { SweepJob } from '../../streams/sweep.js';
import { runExperiment } from '../experiment/run-experiment.js';
import { bumpJob, type BumpJobOptions } from '../experiment/sweep/bump-job.js';

/** `module` of the built-in job: the default experiment (`resumableBumpJob`). */
export const BUILTIN_BUMP = 'phasewatch:bump';

/** What a worker hands a run function: the sweep's job, the worker's runs dir, and `resume`. */
export interface QueuedJob<P extends SweepJob['point'] = SweepJob['point']> extends SweepJob<P> {
  /**
   * Set when an earlier attempt of this run left it in `runsDir` (a worker was killed, or the
   * run failed and is retried): the run dir to continue from its newest checkpoint (pass it
   * as `runExperiment`'s `resume`). A run function that ignores it starts the run again and
   * fails, because its runId exists.
   */
  resume?: string;
}

/** A run function of a queued sweep: `(point, job) => Observable<RunEvent>`. */
export type QueuedRun<P extends SweepJob['point'] = SweepJob['point']> = (
  point: P,
  job: QueuedJob<P>,
) => Observable<RunEvent>;

/** The data of a BullMQ job of a sweep (JSON). */
export interface QueueJobData {
  /** A path or file URL of the module whose `export` runs the job, or `phasewatch:bump`. */
  module: string;
  export: string;
  job: SweepJob;
}

/**
 * The default experiment as a queued run: a fresh run is `bumpJob` (the job's context overridden
 * by the point); a retried one continues `job.resume` from its newest checkpoint.
 *
 * @example export const job = (p, j) => resumableBumpJob(p, j, { operators: [myMetric()] });
 */
export function resumableBumpJob(
  point: SweepJob['point'],
  job: QueuedJob,
  opts: BumpJobOptions = {},
): Observable<RunEvent> {
  if (job.resume !== undefined) {
    return runExperiment({}, { resume: job.resume, operators: opts.operators });
  }
  return bumpJob(point, job, opts);
}

/** Checks what a queue hands a worker; one line naming the field otherwise. */
export function checkJobData(data: unknown): QueueJobData {
  const d = data as Partial<QueueJobData> | null;
  if (typeof d !== 'object' || d === null) {
    throw new Error(`queued job data must be an object (got ${JSON.stringify(data)})`);
  }
  if (typeof d.module !== 'string' || d.module === '') {
    throw new Error(
      `queued job module must be a path or file URL (got ${JSON.stringify(d.module)})`,
    );
  }
  if (typeof d.export !== 'string' || d.export === '') {
    throw new Error(`queued job export must be a name (got ${JSON.stringify(d.export)})`);
  }
  const j = d.job as Partial<SweepJob> | undefined;
  if (
    typeof j !== 'object' ||
    j === null ||
    typeof j.runId !== 'string' ||
    typeof j.key !== 'string'
  ) {
    throw new Error(
      `queued job job must be a SweepJob with runId and key (got ${JSON.stringify(j)})`,
    );
  }
  if (typeof j.point !== 'object' || j.point === null) {
    throw new Error(`queued job job.point must be an object (got ${JSON.stringify(j.point)})`);
  }
  return d as QueueJobData;
}
