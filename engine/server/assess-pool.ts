import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { moduleWorker } from '../../operators/metrics/module-worker.js';
import { assessAny } from '../../operators/metrics/assess-any.js';
import type { AssessOptions } from '../../operators/metrics/assess-snapshot.js';
import type { Assessment, Snapshot } from '../../streams/events.js';
import type { AssessJob, AssessReply } from './assess-worker.js';

/**
 * Assesses uploaded snapshots on worker threads, so a big one (the neighbour searches grow as
 * N²) never holds the server's event loop: the page, the sockets and a training run in the same
 * process go on. `size` workers (default: the cores but one, at least one), started when first
 * needed, idle ones not keeping the process alive; jobs beyond them wait in order. Same result
 * as `assessAny` (the bump rule, or the generic one for a representation snapshot). Where no
 * worker can start (or one dies), the job runs on this thread.
 *
 * @example const pool = new AssessPool(); const a = await pool.assess(snap, { embed: 'pca' });
 */
export class AssessPool {
  readonly size: number;
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();
  private readonly queue: { job: AssessJob; done: Job }[] = [];
  private readonly running = new Map<Worker, Job>();
  private nextId = 0;
  private broken = false;
  private closed = false;
  /** The thread of the last assessment (0: this one); for tests. */
  lastThreadId = -1;

  constructor(size = Math.max(1, availableParallelism() - 1)) {
    if (!Number.isInteger(size) || size < 1) {
      throw new Error(`assessment workers must be an integer >= 1 (got ${size})`);
    }
    this.size = size;
  }

  /** Jobs running or waiting. */
  get busy(): number {
    return this.running.size + this.queue.length;
  }

  /** `assessAny(s, opts)` on a worker thread. */
  assess = (s: Snapshot, opts: AssessOptions): Promise<Assessment> =>
    new Promise<Assessment>((resolve, reject) => {
      const job: AssessJob = { id: this.nextId++, snapshot: s, opts };
      this.queue.push({ job, done: { resolve, reject, job } });
      this.dispatch();
    });

  /** Stops the workers; jobs not done are rejected. */
  close(): void {
    this.closed = true;
    for (const { done } of this.queue.splice(0)) done.reject(new Error('the server closed'));
    for (const w of [...this.all]) void w.terminate();
  }

  private dispatch(): void {
    if (this.closed) return;
    while (this.queue.length > 0) {
      const w = this.idle.pop() ?? (this.all.size < this.size ? this.start() : undefined);
      if (w === undefined) {
        if (this.broken && this.all.size === 0) this.runHere();
        return;
      }
      const { job, done } = this.queue.shift()!;
      this.running.set(w, done);
      w.ref();
      w.postMessage(job);
    }
  }

  /** Without workers: one job at a time on this thread. */
  private runHere(): void {
    const next = this.queue.shift();
    if (!next) return;
    assessAny(next.job.snapshot, next.job.opts)
      .then(
        (a) => {
          this.lastThreadId = 0;
          next.done.resolve(a);
        },
        (err: Error) => next.done.reject(err),
      )
      .finally(() => this.runHere());
  }

  private start(): Worker | undefined {
    if (this.broken) return undefined;
    let w: Worker;
    try {
      // The worker's body is assess-worker.ts (or .js once built).
      w = moduleWorker('./assess-worker', import.meta.url);
    } catch {
      this.broken = true;
      return undefined;
    }
    this.all.add(w);
    let answered = false;
    w.on('message', (reply: AssessReply) => {
      answered = true;
      const done = this.running.get(w);
      if (!done || done.job.id !== reply.id) return;
      this.running.delete(w);
      w.unref();
      this.idle.push(w);
      if ('error' in reply) done.reject(new Error(reply.error));
      else {
        this.lastThreadId = reply.threadId;
        done.resolve(reply.assessment);
      }
      this.dispatch();
    });
    const gone = (err?: Error): void => {
      if (!this.all.delete(w)) return;
      const i = this.idle.indexOf(w);
      if (i >= 0) this.idle.splice(i, 1);
      const done = this.running.get(w);
      this.running.delete(w);
      if (this.closed) return done?.reject(new Error('the server closed'));
      if (!answered) {
        // A worker that could not even load: its job and later ones are assessed here.
        this.broken = true;
        if (done) this.queue.unshift({ job: done.job, done });
      } else {
        done?.reject(new Error(`the assessment worker stopped${err ? `: ${err.message}` : ''}`));
      }
      this.dispatch();
    };
    w.on('error', (err: Error) => gone(err));
    w.on('exit', () => gone());
    w.unref();
    return w;
  }
}

interface Job {
  resolve(a: Assessment): void;
  reject(err: Error): void;
  job: AssessJob;
}
