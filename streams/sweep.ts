import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { catchError, defer, EMPTY, from, mergeMap, Observable, of, tap } from 'rxjs';
import type { AlertEvent, RunEvent } from './events.js';
import { readRunEvents } from './replay.js';

/** One point of a sweep: JSON values by name, e.g. `{ dx: 0.5, seed: 2 }`. */
export type SweepPoint = Record<string, string | number | boolean | null>;

/** Everything a backend needs to run one point; plain JSON, so it can cross a process or a queue. */
export interface SweepJob<P extends SweepPoint = SweepPoint> {
  /** The point's key in the sweep (`dx=0.5,seed=2`). */
  key: string;
  /** The run directory name its run must get (the ledger chooses it). */
  runId: string;
  /** Where its run is stored. */
  runsDir: string;
  point: P;
  /** The sweep's shared settings (`SweepOptions.context`), e.g. a base config. */
  context: unknown;
  /**
   * The sweep's name (`SweepOptions.name`): a job records it as the tag `sweep:<name>`, by
   * which the dashboard groups a sweep's runs.
   */
  sweep?: string;
}

/**
 * Runs jobs. A backend runs one job per `run` subscription: the run's stored events, completing
 * when it ends, erroring when it fails; unsubscribing stops it. In-process functions
 * (`inProcess`), child processes (`childProcesses` in engine/experiment/sweep) and — later — a distributed
 * queue implement it.
 */
export interface SweepBackend<P extends SweepPoint = SweepPoint> {
  run(job: SweepJob<P>): Observable<RunEvent>;
}

/**
 * Which points are done. `claim` says whether the point's run already completed (it is then
 * skipped, its stored events replayed) and otherwise which runId its next attempt gets (a failed
 * attempt stays on disk under its own id).
 */
export interface SweepLedger {
  claim(baseRunId: string): Promise<{ done: boolean; runId: string }>;
}

/** A run function of the in-process backend. */
export type MakeRun<P extends SweepPoint = SweepPoint> = (
  point: P,
  job: SweepJob<P>,
) => Observable<RunEvent>;

/** An alert the sweep itself emits (a run failed): stamped with the run's id, no `seq`. */
export type SweepAlert = Omit<AlertEvent, 'seq'> & { seq?: undefined };

/** What a sweep emits: the runs' events, merged, each with its own runId; and its alerts. */
export type SweepEvent = RunEvent | SweepAlert;

export interface SweepOptions {
  /** Runs at a time (default 1). */
  concurrency?: number;
  /** Names the sweep's runs: `<name>-<point key>` (default `sweep`). */
  name?: string;
  /** Where runs are stored (default `runs`). */
  runsDir?: string;
  /** Shared settings handed to every job (JSON). */
  context?: unknown;
  /** Decides what is done (default: `runsDirLedger(runsDir)`, from the runs' meta.json). */
  ledger?: SweepLedger;
  /** Replay the stored events of finished runs, so a summary sees every point (default true). */
  replayFinished?: boolean;
  /** Every event is also published here (e.g. the live server's hub). */
  hub?: { next(e: RunEvent): void };
}

/**
 * Every combination of the values, in order, the first key varying slowest.
 * @example gridPoints({ dx: [0.5, 1], seed: [1, 2] }) // [{dx:0.5,seed:1}, {dx:0.5,seed:2}, {dx:1,seed:1}, …]
 */
export function gridPoints<P extends SweepPoint>(spec: { [K in keyof P]: P[K][] }): P[] {
  let out: SweepPoint[] = [{}];
  for (const [k, values] of Object.entries(spec) as [string, unknown[]][]) {
    if (!Array.isArray(values) || values.length === 0) {
      throw new Error(
        `sweep grid ${k} must be a non-empty array of values (got ${JSON.stringify(values)})`,
      );
    }
    out = out.flatMap((p) => values.map((v) => ({ ...p, [k]: v as SweepPoint[string] })));
  }
  return out as P[];
}

/** `dx=0.5,seed=2`: a point's key, in its own key order. */
export function pointKey(point: SweepPoint): string {
  return Object.entries(point)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(',');
}

/** The runId a point's first attempt gets: `<name>-dx0.5_seed2` (letters, digits, `.`, `_`, `-`). */
export function sweepRunId(name: string, point: SweepPoint): string {
  const slug = Object.entries(point)
    .map(([k, v]) => `${k}${String(v)}`.replace(/[^\w.-]+/g, '-'))
    .join('_');
  const id = `${name}-${slug}`;
  if (id.length <= 120) return id;
  let h = 2166136261;
  for (const c of id) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return `${id.slice(0, 110)}-${h.toString(16)}`;
}

function metaStatus(dir: string): string | undefined {
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { status?: string };
    return meta.status;
  } catch {
    return undefined;
  }
}

/**
 * The default ledger: a point is done when a run `<baseRunId>` or `<baseRunId>-rN` in `runsDir`
 * completed; otherwise its next attempt is the first of those ids not on disk.
 */
export function runsDirLedger(runsDir: string): SweepLedger {
  return {
    claim(baseRunId) {
      const names = existsSync(runsDir) ? readdirSync(runsDir) : [];
      const attempts = names.filter(
        (n) => n === baseRunId || new RegExp(`^${escape(baseRunId)}-r\\d+$`).test(n),
      );
      const doneId = attempts.find((n) => metaStatus(join(runsDir, n)) === 'completed');
      if (doneId) return Promise.resolve({ done: true, runId: doneId });
      let runId = baseRunId;
      for (let i = 2; names.includes(runId); i++) runId = `${baseRunId}-r${i}`;
      return Promise.resolve({ done: false, runId });
    },
  };
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The in-process backend: `makeRun(point, job)` in this process (runs overlap only in their waits). */
export function inProcess<P extends SweepPoint>(makeRun: MakeRun<P>): SweepBackend<P> {
  if (typeof makeRun !== 'function') {
    throw new Error(
      `inProcess makeRun must be a function (point, job) => Observable (got ${typeof makeRun})`,
    );
  }
  return { run: (job) => defer(() => makeRun(job.point, job)) };
}

/**
 * Runs every point of `grid`, `concurrency` at a time, through a backend, and merges their
 * events into one stream; each event keeps its run's `runId`. A failing run becomes one
 * `alert` event (level `error`, with the run's id and its last step) and the others go on.
 * Resumable: a point whose run already completed (per the ledger) is not run again; its stored
 * events are replayed instead (`replayFinished`).
 *
 * ```
 * grid: [p1, p2, p3], concurrency 2, p2 fails
 * result: -a1-b1-a2-b2-a3(!)-c1-c2-|   a: p1's events, b: p2's, ! = alert for p2, c: p3's
 * ```
 *
 * @example
 * sweep(gridPoints({ dx: [0.5, 1, 2], seed: [1, 2, 3] }), childProcesses({ module }), { concurrency: 2 })
 */
export function sweep<P extends SweepPoint>(
  grid: P[],
  makeRun: MakeRun<P> | SweepBackend<P>,
  opts: SweepOptions = {},
): Observable<SweepEvent> {
  if (!Array.isArray(grid)) {
    throw new Error(`sweep grid must be an array of points (got ${typeof grid}); see gridPoints`);
  }
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`sweep concurrency must be a positive integer (got ${String(concurrency)})`);
  }
  const name = opts.name ?? 'sweep';
  if (!/^\w[\w.-]*$/.test(name) || name.length > 64) {
    throw new Error(
      `sweep name must be 1 to 64 letters, digits, '.', '_' or '-' starting with a letter, digit or '_' (got ${JSON.stringify(name)})`,
    );
  }
  const keys = grid.map(pointKey);
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup !== undefined) throw new Error(`sweep grid has the point ${dup} twice`);
  const backend = typeof makeRun === 'function' ? inProcess(makeRun) : makeRun;
  if (!backend || typeof backend.run !== 'function') {
    throw new Error(
      'sweep makeRun must be a function (point, job) => Observable or a SweepBackend',
    );
  }
  const runsDir = opts.runsDir ?? 'runs';
  const ledger = opts.ledger ?? runsDirLedger(runsDir);
  const replayFinished = opts.replayFinished ?? true;

  const one = (point: P, key: string): Observable<SweepEvent> =>
    from(ledger.claim(sweepRunId(name, point))).pipe(
      mergeMap(({ done, runId }): Observable<SweepEvent> => {
        if (done) return replayFinished ? from(readRunEvents(join(runsDir, runId))) : EMPTY;
        const job: SweepJob<P> = { key, runId, runsDir, point, context: opts.context, sweep: name };
        let lastStep = 0;
        return defer(() => backend.run(job)).pipe(
          tap((e) => {
            if (e.step > lastStep) lastStep = e.step;
          }),
          catchError((err: unknown) =>
            of<SweepAlert>({
              type: 'alert',
              level: 'error',
              message: `sweep ${name}: run ${runId} (${key}) failed: ${err instanceof Error ? err.message : String(err)}`,
              step: lastStep,
              runId,
              time: Date.now(),
            }),
          ),
        );
      }),
    );

  return defer(() =>
    from(grid.map((p, i) => [p, keys[i]] as const)).pipe(
      mergeMap(([p, key]) => one(p, key), concurrency),
      tap((e) => {
        if (e.seq !== undefined) opts.hub?.next(e);
      }),
    ),
  );
}
