import { parentPort, threadId } from 'node:worker_threads';
import { assessAny } from '../../operators/metrics/assess-any.js';
import type { AssessOptions } from '../../operators/metrics/assess-snapshot.js';
import type { Assessment, Snapshot } from '../../streams/events.js';

/** One snapshot asked of an assessment worker (see assess-pool.ts). */
export interface AssessJob {
  id: number;
  snapshot: Snapshot;
  opts: AssessOptions;
}

/** Its answer: the assessment (and the thread that made it), or the error's first line. */
export type AssessReply =
  { id: number; assessment: Assessment; threadId: number } | { id: number; error: string };

parentPort?.on('message', (job: AssessJob) => {
  assessAny(job.snapshot, job.opts).then(
    (assessment) => parentPort?.postMessage({ id: job.id, assessment, threadId }),
    (err: unknown) =>
      parentPort?.postMessage({
        id: job.id,
        error: String(err instanceof Error ? err.message : err).split('\n')[0],
      }),
  );
});
