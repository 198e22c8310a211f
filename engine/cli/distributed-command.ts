/**
 * The distributed subcommands of the CLI:
 *   phasewatch worker --redis URL [--concurrency N] [--runs DIR] [--queue NAME] [--lock-ms N] [--stalled-ms N] [--max-len N]
 *   phasewatch sweep <grid.ts> [--redis URL [--queue NAME] [--detach]] [--runs DIR] [--concurrency N]
 *   phasewatch serve [runsDir] --redis URL [--group NAME] [--port N] [--host H] [--token T]
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Subject, type Observable, type Subscription } from 'rxjs';
import type { RunEvent } from '../../streams/events.js';
import {
  gridPoints,
  pointKey,
  sweep,
  sweepRunId,
  type MakeRun,
  type SweepEvent,
  type SweepPoint,
} from '../../streams/sweep.js';
import { interrupts } from '../runtime/interrupts.js';
import { importScript } from '../experiment/load-script.js';
import { startServer } from '../server/live-server.js';
import { listRuns } from '../store/run-store.js';
import { newerThanStored, runStreams } from '../distributed/consumer.js';
import { resumableBumpJob, type QueuedRun } from '../distributed/job.js';
import { redisQueue } from '../distributed/queue.js';
import { checkRedisUrl } from '../distributed/redis.js';
import { startQueueWorker } from '../distributed/worker.js';

export { DISTRIBUTED_USAGE } from './distributed-usage.js';

type Spec = Record<string, { type: 'string' | 'boolean' }>;

function parse(command: string, args: string[], options: Spec) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const m = /Unknown option '([^']+)'/.exec((err as Error).message);
    const accepted = Object.keys(options)
      .map((o) => `--${o}`)
      .join(', ');
    if (m) {
      throw new Error(`unknown flag ${m[1]} for ${command} (accepted: ${accepted})`, {
        cause: err,
      });
    }
    throw new Error(`${command}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

function intFlag(
  name: string,
  text: string | undefined,
  min: number,
  max = 1e9,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(
      `--${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(text)})`,
    );
  }
  return n;
}

function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** `phasewatch worker`: takes runs from the queue until Ctrl-C / SIGTERM. */
export async function workerCommand(args: string[], signal?: AbortSignal): Promise<number> {
  const { values, positionals } = parse('worker', args, {
    redis: { type: 'string' },
    concurrency: { type: 'string' },
    runs: { type: 'string' },
    queue: { type: 'string' },
    'lock-ms': { type: 'string' },
    'stalled-ms': { type: 'string' },
    'max-len': { type: 'string' },
  });
  if (positionals.length)
    throw new Error(`worker takes no positionals (got ${positionals.join(' ')})`);
  if (values.redis === undefined)
    throw new Error('worker needs --redis URL (e.g. redis://127.0.0.1:6379)');
  const redis = checkRedisUrl(str(values.redis));
  const runsDir = str(values.runs) ?? 'runs';
  const worker = await startQueueWorker({
    redis,
    runsDir,
    concurrency: intFlag('concurrency', str(values.concurrency), 1, 64),
    queue: str(values.queue),
    lockDuration: intFlag('lock-ms', str(values['lock-ms']), 500),
    stalledInterval: intFlag('stalled-ms', str(values['stalled-ms']), 100),
    maxLen: intFlag('max-len', str(values['max-len']), 100),
    log: (line) => process.stderr.write(`phasewatch worker ${process.pid}: ${line}\n`),
  });
  process.stderr.write(
    `phasewatch worker ${process.pid}: taking runs from ${redis} into ${runsDir} (Ctrl-C to stop)\n`,
  );
  const stop = interrupts(signal);
  try {
    await stop.next;
  } finally {
    stop.dispose();
  }
  // Running runs stop (stored `stopped`); their jobs go to another worker once their lock expires.
  await worker.close(true);
  return 0;
}

/** What a grid file gives: the points, the sweep's name and context, and its run function. */
export interface GridFile {
  points: SweepPoint[];
  name: string;
  context: unknown;
  /** The module's `job` export, when it has one (otherwise the default experiment). */
  job?: QueuedRun;
}

/**
 * Loads a grid file: its default export is a list of points (`[{ dx: 0.5, seed: 1 }, …]`) or
 * the lists of values of a `gridPoints` grid (`{ dx: [0.5, 1], seed: [1, 2] }`); optional named
 * exports `name` (the sweep's name), `context` (the base config of every run) and `job` (the
 * function that runs one point, default the default experiment).
 */
export async function loadGrid(file: string): Promise<GridFile> {
  if (!existsSync(file)) throw new Error(`grid file "${file}" does not exist`);
  let mod = await importScript(file);
  // A file outside an ESM package is compiled as CommonJS: its exports arrive as `default`.
  const wrapped = mod.default as { __esModule?: unknown } | undefined;
  if (typeof wrapped === 'object' && wrapped !== null && wrapped.__esModule === true) {
    mod = wrapped;
  }
  let def = mod.default;
  if (typeof def === 'function') def = (def as () => unknown)();
  let points: SweepPoint[];
  if (Array.isArray(def)) points = def as SweepPoint[];
  else if (typeof def === 'object' && def !== null) {
    points = gridPoints(def as Record<string, (string | number | boolean | null)[]>);
  } else {
    throw new Error(
      `grid file "${file}" must default-export a list of points or an object of value lists (got ${typeof def})`,
    );
  }
  if (!points.length) throw new Error(`grid file "${file}" has no points`);
  const name = mod.name ?? 'sweep';
  if (typeof name !== 'string') {
    throw new Error(`grid file "${file}": export name must be a string (got ${typeof name})`);
  }
  const job = mod.job;
  if (job !== undefined && typeof job !== 'function') {
    throw new Error(
      `grid file "${file}": export job must be a function (point, job) => Observable`,
    );
  }
  return { points, name, context: mod.context ?? {}, job: job as QueuedRun | undefined };
}

/** A line per run start, phase change, alert and run end. */
function progress(e: SweepEvent): void {
  const id = e.runId ?? '?';
  if (e.type === 'run-start') {
    process.stderr.write(`${id}: ${e.step > 0 ? `resumed at step ${e.step}` : 'started'}\n`);
  } else if (e.type === 'phase') {
    process.stderr.write(`${id}: phase ${e.from ?? '-'} → ${e.to} at step ${e.step}\n`);
  } else if (e.type === 'alert') {
    process.stderr.write(`${id}: ${e.level} at step ${e.step}: ${e.message}\n`);
  } else if (e.type === 'run-end') {
    process.stderr.write(`${id}: ${e.status} at step ${e.step}${e.error ? `: ${e.error}` : ''}\n`);
  }
}

/** `phasewatch sweep <grid.ts>`: in this process, or on the queue with `--redis`. */
export async function sweepCommand(args: string[], signal?: AbortSignal): Promise<number> {
  const { values, positionals } = parse('sweep', args, {
    redis: { type: 'string' },
    queue: { type: 'string' },
    runs: { type: 'string' },
    concurrency: { type: 'string' },
    detach: { type: 'boolean' },
  });
  if (positionals.length !== 1) {
    throw new Error(
      `sweep takes one grid file (got ${positionals.length ? positionals.join(' ') : 'none'})`,
    );
  }
  const file = positionals[0];
  const grid = await loadGrid(file);
  const runsDir = str(values.runs) ?? 'runs';
  const url = values.redis === undefined ? undefined : checkRedisUrl(str(values.redis));
  if (url === undefined && (values.queue !== undefined || values.detach)) {
    throw new Error(`--${values.queue !== undefined ? 'queue' : 'detach'} needs --redis URL`);
  }
  const concurrency = intFlag('concurrency', str(values.concurrency), 1, 1024);
  const queue = url
    ? redisQueue({
        redis: url,
        queue: str(values.queue),
        runsDir,
        ...(grid.job ? { module: pathToFileURL(resolve(file)).href, export: 'job' } : {}),
      })
    : undefined;
  const local: MakeRun = (point, job) => (grid.job ?? resumableBumpJob)(point, job);
  let events$: Observable<SweepEvent>;
  if (queue) {
    events$ = sweep(grid.points, queue, {
      // Every point on the queue at once: the workers decide how many run at a time.
      concurrency: concurrency ?? grid.points.length,
      name: grid.name,
      runsDir,
      context: grid.context,
      ledger: queue.ledger,
      replayFinished: false,
    });
  } else {
    events$ = sweep(grid.points, local, {
      concurrency: concurrency ?? 1,
      name: grid.name,
      runsDir,
      context: grid.context,
      replayFinished: false,
    });
  }
  const stop = interrupts(signal);
  let failed = 0;
  let ended = 0;
  try {
    if (queue && values.detach) {
      // Enqueue every point (idempotent) and leave.
      const ids = await Promise.all(
        grid.points.map(async (point) => {
          const claim = await queue.ledger.claim(sweepRunId(grid.name, point));
          const key = pointKey(point);
          if (!claim.done) {
            await queue.enqueue({ key, runId: claim.runId, runsDir, point, context: grid.context });
          }
          return claim;
        }),
      );
      const done = ids.filter((c) => c.done).length;
      process.stderr.write(
        `phasewatch: ${grid.points.length} points on ${url}: ${done} done, ${grid.points.length - done} queued\n`,
      );
      return 0;
    }
    await new Promise<void>((resolve, reject) => {
      const sub: Subscription = events$.subscribe({
        next: (e) => {
          progress(e);
          if (e.type === 'run-end') ended++;
          if (e.type === 'alert' && e.level === 'error' && e.seq === undefined) failed++;
        },
        error: reject,
        complete: resolve,
      });
      void stop.next.then(() => {
        sub.unsubscribe();
        resolve();
      });
    });
  } finally {
    stop.dispose();
    await queue?.close();
  }
  process.stderr.write(
    `phasewatch: sweep ${grid.name}: ${grid.points.length} points, ${ended} runs ended here, ${failed} failed (runs in ${join(runsDir)})\n`,
  );
  return failed ? 1 : 0;
}

/** `phasewatch serve [runsDir] --redis URL`: the dashboard, fed by the workers' streams. */
export async function serveRedisCommand(args: string[], signal?: AbortSignal): Promise<number> {
  const { values, positionals } = parse('serve', args, {
    redis: { type: 'string' },
    group: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    token: { type: 'string' },
  });
  if (positionals.length > 1)
    throw new Error(`serve takes one runsDir (got ${positionals.join(' ')})`);
  const runsDir = positionals[0] ?? 'runs';
  if (!existsSync(runsDir)) throw new Error(`runsDir "${runsDir}" does not exist`);
  if (!statSync(runsDir).isDirectory()) throw new Error(`runsDir "${runsDir}" is not a directory`);
  const url = checkRedisUrl(str(values.redis));
  const hub = new Subject<RunEvent>();
  const feed = runStreams({ redis: url, group: str(values.group) })
    .pipe(newerThanStored(runsDir))
    .subscribe({
      next: (e) => hub.next(e),
      error: (err: unknown) =>
        process.stderr.write(`phasewatch: reading ${url} failed: ${(err as Error).message}\n`),
    });
  const stop = interrupts(signal);
  try {
    const server = await startServer({
      runsDir,
      live$: hub,
      port: intFlag('port', str(values.port), 0, 65535) ?? 4321,
      host: str(values.host),
      token: str(values.token),
    });
    process.stderr.write(
      `phasewatch: dashboard at ${server.url}, ${listRuns(runsDir).length} runs in ${runsDir}, live events from ${url}\n`,
    );
    await stop.next;
    await server.close();
  } finally {
    stop.dispose();
    feed.unsubscribe();
    hub.complete();
  }
  return 0;
}

/**
 * The distributed subcommand `argv` names, run; undefined when it names none (so the CLI's
 * own commands go on as before): `worker`, `sweep`, and `serve` with `--redis`.
 */
export function distributedCommand(
  argv: string[],
  signal?: AbortSignal,
): Promise<number> | undefined {
  const first = argv.findIndex((a) => !a.startsWith('-'));
  if (first < 0) return undefined;
  const command = argv[first];
  const rest = [...argv.slice(0, first), ...argv.slice(first + 1)];
  if (command === 'worker') return workerCommand(rest, signal);
  if (command === 'sweep') return sweepCommand(rest, signal);
  if (command === 'serve' && rest.some((a) => a === '--redis' || a.startsWith('--redis='))) {
    return serveRedisCommand(rest, signal);
  }
  return undefined;
}
