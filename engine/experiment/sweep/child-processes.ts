import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import { Observable } from 'rxjs';
import type { RunEvent } from '../../../streams/events.js';
import type { SweepBackend, SweepJob, SweepPoint } from '../../../streams/sweep.js';

/** What the parent sends a worker, and what a worker sends back (JSON over the IPC channel). */
export type ToWorker = { kind: 'job'; module: string; export: string; job: SweepJob };
export type FromWorker =
  { kind: 'event'; event: RunEvent } | { kind: 'done' } | { kind: 'error'; message: string };

export interface ChildProcessesOptions {
  /**
   * The module (path or file URL) whose export runs one point in the child:
   * `(point, job) => Observable<RunEvent>` (see `engine/experiment/sweep/bump-job.ts`).
   */
  module: string | URL;
  /** The export's name (default `default`). */
  export?: string;
  /** Native addon threads per run (`PHASEWATCH_THREADS` of each child; default 1). */
  threads?: number;
  /** Extra environment of each child. */
  env?: Record<string, string>;
}

/** Runs at a time that keep every core busy with `threads` addon threads a run. */
export function coresPerRun(threads = 1): number {
  return Math.max(1, Math.floor(availableParallelism() / threads));
}

// (its pathname: a module loaded through tsx's tsImport has a `?tsx-namespace=…` query)
const WORKER = new URL(
  `./worker${new URL(import.meta.url).pathname.endsWith('.ts') ? '.ts' : '.js'}`,
  import.meta.url,
);

/**
 * The child-process backend of `sweep`: each job runs in its own Node process (one run per
 * process, so runs use separate cores and a crash takes down only its run), with
 * `threads` native addon threads. The child's stored events come back over IPC. Unsubscribing
 * sends SIGTERM (the run is stored as stopped). A child that exits without finishing its run
 * errors the run with its exit code.
 *
 * @example sweep(grid, childProcesses({ module: new URL('./bump-job.ts', import.meta.url) }), { concurrency: coresPerRun() })
 */
export function childProcesses<P extends SweepPoint>(opts: ChildProcessesOptions): SweepBackend<P> {
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new Error(
      `childProcesses threads must be an integer from 1 to 64 (got ${String(threads)})`,
    );
  }
  const mod =
    opts.module instanceof URL
      ? opts.module.href
      : typeof opts.module === 'string' && opts.module !== ''
        ? opts.module.startsWith('file:')
          ? opts.module
          : pathToFileURL(isAbsolute(opts.module) ? opts.module : resolve(opts.module)).href
        : '';
  // A module loaded through tsx's tsImport carries a `?tsx-namespace=…` query that only that
  // loader instance resolves; the child imports the plain file.
  const plain = mod ? new URL(mod) : undefined;
  if (plain) {
    plain.search = '';
    plain.hash = '';
  }
  if (!plain) {
    throw new Error(
      `childProcesses module must be a path or file URL (got ${JSON.stringify(opts.module)})`,
    );
  }
  const exportName = opts.export ?? 'default';
  // A .ts worker (a clone) needs tsx's loader in the child; the built package runs plain .js.
  // The parent's export conditions go along (`--conditions=phasewatch-source`: a clone's child
  // imports `phasewatch` from the source, as its parent does, not from a stale dist/).
  const conditions = process.execArgv.flatMap((a, i, all) =>
    a === '--conditions' || a === '-C'
      ? [a, all[i + 1]]
      : a.startsWith('--conditions=') || a.startsWith('-C=')
        ? [a]
        : [],
  );
  const execArgv = [
    ...(WORKER.pathname.endsWith('.ts')
      ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href]
      : []),
    ...conditions,
  ];
  return {
    run: (job) =>
      new Observable<RunEvent>((subscriber) => {
        let finished = false;
        const child: ChildProcess = fork(fileURLToPath(WORKER), [], {
          execArgv,
          env: { ...process.env, ...opts.env, PHASEWATCH_THREADS: String(threads) },
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        child.on('message', (m: FromWorker) => {
          if (m.kind === 'event') subscriber.next(m.event);
          else if (m.kind === 'done') {
            finished = true;
            subscriber.complete();
          } else if (m.kind === 'error') {
            finished = true;
            subscriber.error(new Error(m.message));
          }
        });
        child.on('error', (err) => {
          if (!finished) {
            finished = true;
            subscriber.error(err);
          }
        });
        child.on('exit', (code, signal) => {
          if (finished) return;
          finished = true;
          subscriber.error(
            new Error(
              `its worker process exited before the run ended (${signal ? `signal ${signal}` : `code ${String(code)}`})`,
            ),
          );
        });
        const msg: ToWorker = {
          kind: 'job',
          module: plain.href,
          export: exportName,
          job: job,
        };
        child.send(msg);
        return () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        };
      }),
  };
}
