/** A sweep job for specs: `point.n` metric events, `point.every` ms apart, stored as a real run; fails at `point.failAt`, crashes its process at `point.crashAt`. */
import { concatMap, interval, map, of, take, throwError, type Observable } from 'rxjs';
import { RunStore } from '../../../engine/store/run-store.js';
import { record } from '../../../engine/store/record.js';
import type { EventInput, RunEvent } from '../../../streams/events.js';
import type { SweepJob } from '../../../streams/sweep.js';

export default function fakeJob(point: SweepJob['point'], job: SweepJob): Observable<RunEvent> {
  const n = Number(point.n ?? 5);
  const store = RunStore.create({
    runsDir: job.runsDir,
    runId: job.runId,
    backend: 'cpu',
    config: { ...point, threads: process.env.PHASEWATCH_THREADS ?? 'unset' },
  });
  return interval(Number(point.every ?? 5)).pipe(
    take(n),
    concatMap((i): Observable<EventInput> => {
      if (point.failAt === i) return throwError(() => new Error(`boom at ${i}`));
      if (point.crashAt === i) process.exit(3);
      return of({ type: 'metric', name: 'fake/i', value: i, step: i + 1 });
    }),
    map((e) => e),
    record(store),
  );
}
