/**
 * A sweep's child process: receives one job, imports the module that runs it, sends each
 * event of the run back over IPC, then `done` (or `error`) and exits. SIGTERM stops the run
 * (stored as stopped). Started by `childProcesses` (engine/experiment/sweep/child-processes.ts).
 */
import type { Observable, Subscription } from 'rxjs';
import type { RunEvent } from '../../../streams/events.js';
import type { SweepJob } from '../../../streams/sweep.js';
import type { FromWorker, ToWorker } from './child-processes.js';

type RunFn = (point: SweepJob['point'], job: SweepJob) => Observable<RunEvent>;

let sub: Subscription | undefined;

const send = (m: FromWorker): Promise<void> =>
  new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });

const finish = async (m: FromWorker, code: number): Promise<void> => {
  await send(m);
  process.disconnect?.();
  process.exit(code);
};

process.on('SIGTERM', () => {
  sub?.unsubscribe();
  process.exit(143);
});

process.once('message', (m: ToWorker) => {
  void (async () => {
    try {
      // A .ts job module goes through tsx's API, whichever loaders this process started with.
      const mod = (
        new URL(m.module).pathname.endsWith('.ts')
          ? await (await import('tsx/esm/api')).tsImport(m.module, import.meta.url)
          : await import(m.module)
      ) as Record<string, unknown>;
      const fn = mod[m.export];
      if (typeof fn !== 'function') {
        throw new Error(`${m.module} has no function export "${m.export}"`);
      }
      const events$ = (fn as RunFn)(m.job.point, m.job);
      let pending = Promise.resolve();
      sub = events$.subscribe({
        next: (event) => {
          pending = pending.then(() => send({ kind: 'event', event }));
        },
        error: (err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          void pending.then(() => finish({ kind: 'error', message }, 1));
        },
        complete: () => void pending.then(() => finish({ kind: 'done' }, 0)),
      });
    } catch (err) {
      await finish({ kind: 'error', message: err instanceof Error ? err.message : String(err) }, 1);
    }
  })();
});
