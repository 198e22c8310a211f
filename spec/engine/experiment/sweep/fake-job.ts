/**
 * A sweep job for specs: `point.n` metric events, `point.every` ms apart, stored as a real run;
 * fails at `point.failAt`, crashes its process at `point.crashAt`. With `point.barrier` = N it
 * first waits until N jobs of the runs dir have started, so parallel runs surely overlap.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { concatMap, defer, interval, map, of, take, throwError, type Observable } from 'rxjs';
import { RunStore } from '../../../../engine/store/run-store.js';
import { record } from '../../../../engine/store/record.js';
import type { EventInput, RunEvent } from '../../../../streams/events.js';
import type { SweepJob } from '../../../../streams/sweep.js';

export default function fakeJob(point: SweepJob['point'], job: SweepJob): Observable<RunEvent> {
  const n = Number(point.n ?? 5);
  const store = RunStore.create({
    runsDir: job.runsDir,
    runId: job.runId,
    backend: 'cpu',
    config: { ...point, threads: process.env.PHASEWATCH_THREADS ?? 'unset' },
  });
  const barrier = Number(point.barrier ?? 0);
  const started = (): number =>
    existsSync(job.runsDir)
      ? readdirSync(job.runsDir).filter((f) => f.startsWith('.started-')).length
      : 0;
  const waitAll = defer(async () => {
    if (barrier) writeFileSync(join(job.runsDir, `.started-${job.runId}`), '');
    while (started() < barrier) await new Promise((r) => setTimeout(r, 20));
  });
  return waitAll.pipe(
    concatMap(() => interval(Number(point.every ?? 5))),
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
