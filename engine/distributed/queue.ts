import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { Observable } from 'rxjs';
import type { RunEvent } from '../../streams/events.js';
import type { SweepBackend, SweepJob, SweepLedger, SweepPoint } from '../../streams/sweep.js';
import { BUILTIN_BUMP, type QueueJobData } from './job.js';
import { eventOf } from './publisher.js';
import { checkName, connect, DEFAULT_PREFIX, DEFAULT_QUEUE, disconnect, keys } from './redis.js';

export interface RedisQueueOptions {
  /** The Redis server (`redis://host:port`). */
  redis: string;
  /** The BullMQ queue (default `phasewatch-runs`); workers must take from the same one. */
  queue?: string;
  /** Key prefix of the event streams (default `pw`). */
  prefix?: string;
  /**
   * The module (path or file URL, reachable at the same path on every worker) whose export
   * runs one point on a worker: `(point, job: QueuedJob) => Observable<RunEvent>`, honouring
   * `job.resume`. Default: the built-in default experiment (`resumableBumpJob`).
   */
  module?: string | URL;
  /** The export's name (default `default`; ignored for the built-in job). */
  export?: string;
  /**
   * Attempts of a run that fails (BullMQ `attempts`; default 1: a failed run fails its point
   * and re-running the sweep tries it again under a new runId). A worker that dies does not
   * use up an attempt: its job is handed on (see `startQueueWorker`'s `maxStalledCount`).
   */
  attempts?: number;
  /** The sweep's runs dir: a completed run found there is replayed by the sweep, not from Redis. */
  runsDir?: string;
  /** How often a run's state is looked at while its stream is quiet (default 500 ms). */
  pollMs?: number;
}

/** A sweep backend on a BullMQ queue; pass `ledger` to `sweep` too. */
export interface RedisQueue<P extends SweepPoint = SweepPoint> extends SweepBackend<P> {
  /** Which points are done, from the queue's jobs (see `queueLedger`). */
  readonly ledger: SweepLedger;
  readonly queue: Queue;
  /** Puts a job on the queue without following it (a job of that runId already there stays as it is). */
  enqueue(job: SweepJob<P>): Promise<void>;
  /** Disconnects (queued jobs stay queued). */
  close(): Promise<void>;
}

function metaStatus(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { status?: string }).status;
  } catch {
    return undefined;
  }
}

/**
 * The ledger of a queued sweep: a point's runId is its job id, so enqueueing a grid again adds
 * no job twice. A point is done when its job completed (and its run is in `runsDir`, for the
 * sweep to replay; otherwise the backend replays it from its stream); a job waiting, active or
 * completed keeps its id (the sweep follows it); a failed one makes way for `<id>-r2`, `-r3`, ….
 */
export function queueLedger(queue: Queue, runsDir?: string): SweepLedger {
  return {
    async claim(baseRunId) {
      for (let i = 1; ; i++) {
        const runId = i === 1 ? baseRunId : `${baseRunId}-r${i}`;
        const state = await queue.getJobState(runId);
        if (state === 'failed') continue;
        const done =
          state === 'completed' &&
          runsDir !== undefined &&
          metaStatus(join(runsDir, runId)) === 'completed';
        return { done, runId };
      }
    },
  };
}

function moduleHref(module: string | URL | undefined): string {
  if (module === undefined) return BUILTIN_BUMP;
  if (module instanceof URL) return module.href;
  if (typeof module !== 'string' || module === '') {
    throw new Error(`redisQueue module must be a path or file URL (got ${JSON.stringify(module)})`);
  }
  if (module === BUILTIN_BUMP || module.startsWith('file:')) return module;
  return pathToFileURL(isAbsolute(module) ? module : resolve(module)).href;
}

/**
 * The queued backend of `sweep`: each point becomes a BullMQ job (id = its runId) that any
 * `phasewatch worker` takes; its events come back through the run's Redis Stream, each once and
 * in `seq` order, and the run completes when its job does (errors when its job fails for good).
 * Unsubscribing stops following; the job stays queued and runs anyway.
 *
 * @example
 * const q = redisQueue({ redis: 'redis://127.0.0.1:6379', runsDir: '/shared/runs' });
 * sweep(gridPoints({ dx: [0.5, 1, 2], seed: [1, 2, 3] }), q, { concurrency: 9, ledger: q.ledger, runsDir: '/shared/runs' })
 */
export function redisQueue<P extends SweepPoint = SweepPoint>(
  opts: RedisQueueOptions,
): RedisQueue<P> {
  const queueName = checkName('--queue', opts.queue ?? DEFAULT_QUEUE);
  const prefix = checkName('prefix', opts.prefix ?? DEFAULT_PREFIX);
  const attempts = opts.attempts ?? 1;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 100) {
    throw new Error(`attempts must be an integer from 1 to 100 (got ${String(opts.attempts)})`);
  }
  const pollMs = opts.pollMs ?? 500;
  if (!Number.isInteger(pollMs) || pollMs < 10) {
    throw new Error(`pollMs must be an integer >= 10 (got ${String(opts.pollMs)})`);
  }
  const module = moduleHref(opts.module);
  const exportName = opts.export ?? 'default';
  const k = keys(prefix);
  const connection = connect(opts.redis);
  connection.on('error', () => undefined);
  const queue = new Queue(queueName, { connection });
  queue.on('error', () => undefined);
  const readers = new Set<ReturnType<typeof connect>>();

  const enqueue = async (job: SweepJob<P>): Promise<void> => {
    const data: QueueJobData = { module, export: exportName, job: job };
    await queue.add('run', data, {
      jobId: job.runId,
      attempts,
      removeOnComplete: false,
      removeOnFail: false,
    });
  };

  const run = (job: SweepJob<P>): Observable<RunEvent> =>
    new Observable<RunEvent>((subscriber) => {
      let stopped = false;
      const reader = connect(opts.redis);
      reader.on('error', () => undefined);
      readers.add(reader);
      const follow = async (): Promise<void> => {
        await enqueue(job);
        let lastId = '0';
        let lastSeq = 0;
        let finished: { failed?: string } | undefined;
        while (!stopped) {
          const reply = await reader.xread(
            'COUNT',
            500,
            'BLOCK',
            pollMs,
            'STREAMS',
            k.events(job.runId),
            lastId,
          );
          const entries = reply?.[0]?.[1] ?? [];
          for (const [id, fields] of entries) {
            lastId = id;
            const e = eventOf(fields);
            if (!e || e.seq <= lastSeq || stopped) continue;
            lastSeq = e.seq;
            subscriber.next(e);
          }
          if (entries.length) continue;
          // Quiet: every event of a finished job is in its stream before the job finishes.
          if (finished) break;
          const state = await queue.getJobState(job.runId);
          if (state === 'completed') finished = {};
          else if (state === 'failed') {
            const failed = await queue.getJob(job.runId);
            finished = { failed: failed?.failedReason ?? 'its job failed' };
          }
        }
        if (stopped) return;
        if (finished?.failed !== undefined) subscriber.error(new Error(finished.failed));
        else subscriber.complete();
      };
      follow().catch((err: unknown) => {
        if (!stopped) subscriber.error(err);
      });
      return () => {
        stopped = true;
        readers.delete(reader);
        void disconnect(reader);
      };
    });

  return {
    run,
    enqueue,
    ledger: queueLedger(queue, opts.runsDir),
    queue,
    async close() {
      for (const r of readers) void disconnect(r);
      readers.clear();
      await queue.close();
      await disconnect(connection);
    },
  };
}
