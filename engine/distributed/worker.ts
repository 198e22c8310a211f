import { existsSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DelayedError, Worker, type Job } from 'bullmq';
import type { Observable } from 'rxjs';
import type { RunEvent } from '../../streams/events.js';
import { isValidRunId, runIdError } from '../../streams/protocol.js';
import { importScript } from '../experiment/load-script.js';
import { LOCK_FILE, lockHolder } from '../store/lock.js';
import {
  BUILTIN_BUMP,
  checkJobData,
  resumableBumpJob,
  type QueueJobData,
  type QueuedJob,
  type QueuedRun,
} from './job.js';
import { StreamPublisher } from './publisher.js';
import { checkName, connect, DEFAULT_QUEUE, disconnect } from './redis.js';

export interface QueueWorkerOptions {
  /** The Redis server (`redis://host:port`). */
  redis: string;
  /**
   * Where runs are stored. Use a directory every worker shares (NFS, a mounted volume): a run
   * retried on another worker continues from the checkpoints its first worker left there.
   */
  runsDir?: string;
  /** Runs at a time in this worker (default 1). */
  concurrency?: number;
  /** The BullMQ queue (default `phasewatch-runs`). */
  queue?: string;
  /** Key prefix of the event streams (default `pw`). */
  prefix?: string;
  /** Entries kept per run stream (default 100 000). */
  maxLen?: number;
  /**
   * How long a job's lock lasts unless renewed (default 30 000 ms): a worker silent for this
   * long (killed, cut off) loses its job, which another worker then resumes.
   */
  lockDuration?: number;
  /** How often workers look for jobs whose lock expired (default 30 000 ms). */
  stalledInterval?: number;
  /** Times a run may lose its worker before it is failed for good (default 5). */
  maxStalledCount?: number;
  /** One line per job started, resumed, completed or failed (default: none). */
  log?: (line: string) => void;
}

/** What one job ended with (BullMQ keeps it as the job's return value). */
export interface QueueJobResult {
  runId: string;
  status: 'completed';
  /** True when this attempt continued a run an earlier attempt left. */
  resumed: boolean;
  /** Stored events this attempt published that an earlier attempt had not. */
  republished: number;
  lastStep: number;
}

export interface QueueWorker {
  readonly worker: Worker;
  /**
   * Lets the running runs finish, then disconnects; with `stop`, stops them at once instead
   * (stored `stopped`) and hands their jobs back to the queue, where another worker resumes
   * them from their newest checkpoint.
   */
  close(stop?: boolean): Promise<void>;
}

function positiveInt(field: string, v: number | undefined, fallback: number, min = 1): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`${field} must be an integer >= ${min} (got ${String(v)})`);
  }
  return n;
}

/** The status meta.json records, undefined when the run dir holds no run yet. */
function storedStatus(dir: string): string | undefined {
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { status?: string };
    return typeof meta.status === 'string' ? meta.status : 'unknown';
  } catch {
    return existsSync(join(dir, 'meta.json')) ? 'unknown' : undefined;
  }
}

/**
 * Moves aside a run's writer lock taken on another host. Only called for a job this worker
 * holds the BullMQ lock of: its earlier worker lost that lock (it stalled: killed or cut off),
 * so the run lock it left is stale even though no process check can prove it from here.
 * Locks of this host are left to `acquireRunLock`, which checks the holder's PID.
 * True when a lock was moved.
 */
export function takeOverForeignLock(dir: string, host = hostname()): boolean {
  const path = join(dir, LOCK_FILE);
  let info: { host?: unknown };
  try {
    info = JSON.parse(readFileSync(path, 'utf8')) as { host?: unknown };
  } catch {
    return false;
  }
  if (typeof info.host !== 'string' || info.host === host) return false;
  const aside = `${path}.stale-${process.pid}-${Date.now().toString(36)}`;
  try {
    renameSync(path, aside);
    unlinkSync(aside);
    return true;
  } catch {
    return false;
  }
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));
const errorLine = (err: unknown): string => asError(err).message.split('\n')[0];
/** The runId a job's data names, for log lines (the data may be anything). */
const jobRunId = (job: Job<QueueJobData>): string =>
  String((job.data as Partial<QueueJobData> | undefined)?.job?.runId);

const runFns = new Map<string, Promise<QueuedRun>>();

/** The run function a job names: the built-in bump job, or an export of a module. */
function runFunction(module: string, exportName: string): Promise<QueuedRun> {
  if (module === BUILTIN_BUMP) return Promise.resolve(resumableBumpJob);
  const key = `${module}#${exportName}`;
  let fn = runFns.get(key);
  if (!fn) {
    const file = module.startsWith('file:')
      ? fileURLToPath(module)
      : isAbsolute(module)
        ? module
        : resolve(module);
    fn = importScript(file).then((mod) => {
      const f = mod[exportName];
      if (typeof f !== 'function') {
        throw new Error(`queued job module ${module} has no function export "${exportName}"`);
      }
      return f as QueuedRun;
    });
    runFns.set(key, fn);
    fn.catch(() => runFns.delete(key));
  }
  return fn;
}

/**
 * A worker of queued sweeps (`phasewatch worker`): takes run jobs from the BullMQ queue and
 * runs each with the engine, storing it in `runsDir` and appending every stored event to the
 * run's Redis Stream as well. A job is acknowledged (completed) only once its run has ended
 * `completed` and every event is in the stream; a failed run fails the job (BullMQ retries it
 * per the job's `attempts`). A job whose worker died or was cut off for `lockDuration` is
 * handed to another worker, which continues the run from its newest checkpoint in `runsDir`
 * and first publishes what the dead worker stored but never published. A worker that loses
 * a job's lock stops that run (stored `stopped`), so two workers never write one run.
 *
 * @example
 * const w = await startQueueWorker({ redis: 'redis://127.0.0.1:6379', runsDir: '/shared/runs' });
 * process.on('SIGTERM', () => void w.close());
 */
export async function startQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorker> {
  const queue = checkName('queue', opts.queue ?? DEFAULT_QUEUE);
  const runsDir = opts.runsDir ?? 'runs';
  const concurrency = positiveInt('--concurrency', opts.concurrency, 1);
  const lockDuration = positiveInt('lockDuration', opts.lockDuration, 30_000, 500);
  const stalledInterval = positiveInt('stalledInterval', opts.stalledInterval, 30_000, 100);
  const maxStalledCount = positiveInt('maxStalledCount', opts.maxStalledCount, 5, 0);
  const log = opts.log ?? (() => undefined);
  const redis = connect(opts.redis);
  const publisher = new StreamPublisher(redis, { prefix: opts.prefix, maxLen: opts.maxLen });
  /** Aborts the run of a job whose lock this worker lost. */
  const lost = new Map<string, (why: string) => void>();
  let closing = false;
  /** When each running job's lock was last renewed (or the job started). */
  const renewedAt = new Map<string, number>();

  const processor = async (job: Job<QueueJobData>, token?: string, signal?: AbortSignal) => {
    try {
      return await processJob(job, token, signal);
    } catch (err) {
      if (closing && token && !(err instanceof DelayedError)) {
        // Stopped because this worker is closing: the job goes back to be resumed elsewhere.
        log(`run ${jobRunId(job)} stopped; its job goes back to the queue`);
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      if (!(err instanceof DelayedError)) {
        log(`run ${jobRunId(job)}: ${errorLine(err)}`);
      }
      throw err;
    }
  };

  const processJob = async (job: Job<QueueJobData>, token?: string, signal?: AbortSignal) => {
    const data = checkJobData(job.data);
    const { runId } = data.job;
    if (!isValidRunId(runId)) throw new Error(runIdError('queued job runId', runId));
    const dir = join(runsDir, runId);
    const published = await publisher.lastSeq(runId);
    await publisher.announce(runId);
    const status = storedStatus(dir);
    if (status === 'completed') {
      // Its run ended but the job was not acknowledged (the worker died in between).
      const republished = publisher.publishStored(dir, published);
      await publisher.flush();
      log(`run ${runId} was already completed; acknowledged (${republished} events republished)`);
      const result: QueueJobResult = {
        runId,
        status: 'completed',
        resumed: false,
        republished,
        lastStep: 0,
      };
      return result;
    }
    if (status === undefined && published > 0) {
      // Another worker started this run, but its files are not here: this worker's runs dir
      // is not the shared one. Starting over would repeat seqs the live server has seen.
      throw new Error(
        `run ${runId} was started by another worker (its stream holds events up to seq ${published}) but ${dir} does not exist here: every worker needs the same shared --runs directory (docs/scaling.md)`,
      );
    }
    const resume = status === undefined ? undefined : dir;
    if (resume) {
      takeOverForeignLock(dir);
      const holder = lockHolder(dir);
      if (holder) {
        // A worker of this host that lost the job is still closing the run: try again soon.
        log(`run ${runId} is still being closed by process ${holder.pid}; retrying in 2 s`);
        await job.moveToDelayed(Date.now() + 2000, token);
        throw new DelayedError();
      }
    }
    const fn = await runFunction(data.module, data.export);
    const queued: QueuedJob = { ...data.job, runsDir, ...(resume ? { resume } : {}) };
    log(`run ${runId} ${resume ? `resumed (attempt ${job.attemptsMade + 1})` : 'started'}`);
    let republished = 0;
    let end: RunEvent | undefined;
    let lastStep = 0;
    await new Promise<void>((done, fail) => {
      let first = true;
      let events$: Observable<RunEvent>;
      try {
        events$ = fn(data.job.point, queued);
      } catch (err) {
        fail(asError(err));
        return;
      }
      const sub = events$.subscribe({
        next: (e) => {
          if (e.runId !== runId) return;
          if (first) {
            first = false;
            // What a killed worker stored but never sent, up to this attempt's first event.
            republished = publisher.publishStored(dir, published, e.seq);
          }
          publisher.publish(e);
          if (e.step > lastStep) lastStep = e.step;
          if (e.type === 'run-end') end = e;
        },
        error: (err: unknown) => {
          lost.delete(String(job.id));
          fail(asError(err));
        },
        complete: () => {
          lost.delete(String(job.id));
          done();
        },
      });
      const stop = (why: string) => {
        lost.delete(String(job.id));
        sub.unsubscribe();
        fail(new Error(`run ${runId} stopped: ${why}`));
      };
      lost.set(String(job.id), stop);
      renewedAt.set(String(job.id), Date.now());
      signal?.addEventListener('abort', () => stop('the job was cancelled'));
    }).finally(() => publisher.flush().catch(() => undefined));
    await publisher.flush();
    if (end?.type !== 'run-end' || end.status !== 'completed') {
      const how = end?.type === 'run-end' ? end.status : 'without a run-end';
      throw new Error(`run ${runId} ended ${how}`);
    }
    log(`run ${runId} completed at step ${lastStep}`);
    const result: QueueJobResult = {
      runId,
      status: 'completed',
      resumed: resume !== undefined,
      republished,
      lastStep,
    };
    return result;
  };

  const workerConnection = connect(opts.redis);
  workerConnection.on('error', () => undefined);
  const worker = new Worker(queue, processor, {
    connection: workerConnection,
    concurrency,
    lockDuration,
    stalledInterval,
    maxStalledCount,
    autorun: true,
  });
  worker.on('locksRenewed', ({ jobIds }: { jobIds: string[] }) => {
    const now = Date.now();
    for (const id of jobIds) if (renewedAt.has(id)) renewedAt.set(id, now);
  });
  // Self-fencing: a worker cut off from Redis cannot learn that its lock expired and that
  // another worker took the run over; it stops the run itself once the lock must have expired.
  const fence = setInterval(
    () => {
      const now = Date.now();
      for (const [id, at] of renewedAt) {
        if (!lost.has(id)) renewedAt.delete(id);
        else if (now - at > lockDuration) {
          lost.get(id)?.(`its job lock was not renewed for ${now - at} ms (Redis unreachable?)`);
        }
      }
    },
    Math.min(1000, lockDuration / 4),
  );
  fence.unref();
  worker.on('lockRenewalFailed', (ids: string[]) => {
    for (const id of ids) lost.get(id)?.('this worker lost its lock on the job');
  });
  worker.on('failed', (job, err) => {
    if (job) log(`run ${jobRunId(job)} failed: ${errorLine(err)}`);
  });
  // Connection errors while Redis restarts are retried by the client; keep them quiet.
  worker.on('error', () => undefined);
  redis.on('error', () => undefined);
  await worker.waitUntilReady();

  return {
    worker,
    async close(stop = false) {
      if (stop) {
        closing = true;
        for (const stopRun of [...lost.values()]) stopRun('the worker is closing');
      }
      // The processors end quickly once their runs are stopped (their jobs handed back).
      await worker.close(false);
      clearInterval(fence);
      await publisher.flush().catch(() => undefined);
      await disconnect(redis);
      await disconnect(workerConnection);
    },
  };
}
