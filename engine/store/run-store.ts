import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { Subject, type Observable } from 'rxjs';
import { EVENTS_VERSION } from '../../streams/events.js';
import type { RunEndEvent, RunEvent, RunMeta, UnsequencedEvent } from '../../streams/events.js';
import { isValidRunId, runIdError } from '../../streams/protocol.js';
import { parseEventLine, readRunLog } from '../../streams/replay.js';
import { tempPathFor, writeFileAtomic } from './atomic-file.js';
import { writeError } from './io-error.js';
import { acquireRunLock, type RunLock } from './lock.js';
import { readRunMeta, metaLastSeq, writeMeta, type StoredMeta } from './run-meta.js';
import { encodeArrays, type SnapshotArrays } from './snapshot-arrays.js';

export { writeFileAtomic } from './atomic-file.js';
export { listRuns, markInterrupted, metaLastSeq, readRunMeta, storedLastSeq } from './run-meta.js';
export { readSnapshotArrays, type SnapshotArrays } from './snapshot-arrays.js';

/** A fresh run id: sortable by time, unique within a runs dir. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Space kept free in each live run dir, given back to write the run's end when the disk fills. */
const RESERVE_FILE = '.reserve';
const RESERVE_BYTES = 64 * 1024;

/** One line for an error, e.g. `ENOSPC: no space left on device, write`. */
function reason(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0];
}

export interface OpenOptions {
  /** Every stored event is also published here (the live server listens). */
  hub?: Subject<RunEvent>;
  /**
   * The step of the checkpoint the run resumes from: events of later steps are dropped from
   * `events.jsonl` (rewritten atomically), so the resumed run does not repeat them. New events
   * continue above the highest `seq` ever written. See `planResume` to learn first what goes.
   */
  resumeAt?: number;
}

/**
 * The append-only store of one run: `meta.json`, `events.jsonl`, `snapshots/`,
 * `checkpoints/`. Every event is written to the file before it is passed on to
 * `events$`, so whoever sees an event can also read it back from disk.
 *
 * One writer at a time: a live run holds `writer.lock` (with its PID); a second `create` or
 * `open` of it is refused with a one-line error, and the lock of a writer that died is taken
 * over. A write that fails (disk full, I/O error) ends the run `failed` with the reason in
 * `meta.json` and a `run-end` event, leaves no partial line and no temporary file, and throws.
 */
export class RunStore {
  private readonly subject = new Subject<RunEvent>();
  /** Every event, after it is on disk. */
  readonly events$: Observable<RunEvent> = this.subject.asObservable();
  private fd: number | null;
  /** Bytes of events.jsonl written (the end of the last whole line). */
  private size: number;
  private lastStep: number;

  private constructor(
    readonly dir: string,
    private meta: StoredMeta,
    private seq: number,
    private readonly lock: RunLock,
    private readonly hub?: Subject<RunEvent>,
  ) {
    const file = join(dir, 'events.jsonl');
    this.fd = openSync(file, 'a');
    this.size = fstatSync(this.fd).size;
    this.lastStep = meta.lastStep ?? 0;
    // Room to record the run's end if the disk fills up; best effort.
    try {
      writeFileSync(join(dir, RESERVE_FILE), Buffer.alloc(RESERVE_BYTES));
    } catch {
      rmSync(join(dir, RESERVE_FILE), { force: true });
    }
  }

  /** Creates `runsDir/<runId>/`, takes its lock and writes its meta.json. */
  static create(opts: {
    runsDir: string;
    runId?: string;
    name?: string;
    tags?: string[];
    notes?: string;
    backend: string;
    config: Record<string, unknown>;
    hub?: Subject<RunEvent>;
  }): RunStore {
    const runId = opts.runId ?? newRunId();
    if (!isValidRunId(runId)) throw new Error(runIdError('runId', runId));
    const dir = join(opts.runsDir, runId);
    if (existsSync(join(dir, 'events.jsonl')) || existsSync(join(dir, 'meta.json'))) {
      throw new Error(`runId "${runId}" already exists in ${opts.runsDir}`);
    }
    const made = !existsSync(dir);
    let lock: RunLock;
    try {
      mkdirSync(join(dir, 'snapshots'), { recursive: true });
      mkdirSync(join(dir, 'checkpoints'), { recursive: true });
      lock = acquireRunLock(dir);
    } catch (err) {
      // A run that cannot be created leaves nothing (a full disk, an unwritable runs dir).
      if (made) removeEmptyRunDir(dir);
      throw err;
    }
    let owned = false;
    try {
      if (existsSync(join(dir, 'events.jsonl')) || existsSync(join(dir, 'meta.json'))) {
        throw new Error(`runId "${runId}" already exists in ${opts.runsDir}`);
      }
      owned = true;
      const meta: StoredMeta = {
        runId,
        eventsVersion: EVENTS_VERSION,
        ...(opts.name === undefined ? {} : { name: opts.name }),
        ...(opts.tags === undefined ? {} : { tags: opts.tags }),
        ...(opts.notes === undefined ? {} : { notes: opts.notes }),
        createdAt: new Date().toISOString(),
        backend: opts.backend,
        config: opts.config,
        status: 'running',
        pid: process.pid,
      };
      writeFileAtomic(join(dir, 'meta.json'), JSON.stringify(meta, null, 2));
      return new RunStore(dir, meta, 0, lock, opts.hub);
    } catch (err) {
      if (owned) {
        for (const f of ['meta.json', 'events.jsonl', RESERVE_FILE]) {
          rmSync(join(dir, f), { force: true });
        }
      }
      lock.release();
      if (made) removeEmptyRunDir(dir);
      throw err;
    }
  }

  /**
   * Reopens a stored run to append to it (a resumed run). Refused with a one-line error while
   * another process writes the run. Everything is checked before anything is changed: a
   * failed open leaves the files as they were. Then a half-written last line is dropped and,
   * with `resumeAt`, the events after that step and any earlier run-end (the run goes on; a
   * kill between writing its run-end and its meta leaves one at the checkpoint's step).
   */
  static open(dir: string, hubOrOptions?: Subject<RunEvent> | OpenOptions): RunStore {
    const opts: OpenOptions =
      hubOrOptions instanceof Subject ? { hub: hubOrOptions } : (hubOrOptions ?? {});
    const meta = readRunMeta(dir) as StoredMeta;
    if (opts.resumeAt !== undefined && (!Number.isInteger(opts.resumeAt) || opts.resumeAt < 0)) {
      throw new Error(`resumeAt must be an integer >= 0 (got ${String(opts.resumeAt)})`);
    }
    const lock = acquireRunLock(dir);
    try {
      const file = join(dir, 'events.jsonl');
      const log = readRunLog(dir);
      const lastSeq = Math.max(log.lastSeq, metaLastSeq(dir));
      const keep = (e: RunEvent): boolean => e.step <= opts.resumeAt! && e.type !== 'run-end';
      const dropping = opts.resumeAt !== undefined && log.events.some((e) => !keep(e));
      // From here on files change.
      if (dropping) {
        // Remember the highest seq first: the resumed run continues above it even if it is
        // killed again before it writes anything.
        writeFileAtomic(join(dir, 'meta.json'), JSON.stringify({ ...meta, lastSeq }, null, 2));
        rewriteKeeping(file, log.completeBytes, keep);
      } else if (log.tornBytes > 0) {
        const fd = openSync(file, 'r+');
        try {
          ftruncateSync(fd, log.completeBytes);
        } finally {
          closeSync(fd);
        }
      }
      const lastStep = opts.resumeAt ?? meta.lastStep;
      const reopened: StoredMeta = {
        ...meta,
        status: 'running',
        pid: process.pid,
        lastSeq,
        ...(lastStep === undefined ? {} : { lastStep }),
      };
      delete reopened.error;
      writeFileAtomic(join(dir, 'meta.json'), JSON.stringify(reopened, null, 2));
      removeStaleTemps(dir);
      return new RunStore(dir, reopened, lastSeq, lock, opts.hub);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  get runId(): string {
    return this.meta.runId;
  }

  /** A copy of what meta.json holds now. */
  get info(): RunMeta {
    const meta: StoredMeta = { ...this.meta };
    delete meta.lastSeq;
    return meta;
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** False once the run has ended (closed, or failed on a write). */
  get open(): boolean {
    return this.fd !== null;
  }

  /**
   * Stamps the event with the next `seq`, appends it to events.jsonl, then publishes it. A
   * failed write ends the run `failed` (see the class) and throws a one-line error.
   */
  append(event: UnsequencedEvent): RunEvent {
    if (this.fd === null) throw new Error(`run ${this.runId} is closed`);
    let stamped: RunEvent;
    try {
      stamped = this.write(event);
    } catch (err) {
      this.fail(err);
      throw new Error(
        `cannot write ${join(this.dir, 'events.jsonl')}: ${reason(err)} (the run ended failed)`,
        { cause: err },
      );
    }
    if (stamped.type === 'phase') this.meta = { ...this.meta, phase: stamped.to };
    this.subject.next(stamped);
    this.hub?.next(stamped);
    // After the event is out: a meta.json that cannot be written ends the run, whose run-end
    // then follows the phase event (updateMeta throws one line).
    if (stamped.type === 'phase') this.updateMeta({});
    return stamped;
  }

  /** Writes one whole line or nothing (a partial write is cut back off). */
  private write(event: UnsequencedEvent): RunEvent {
    const fd = this.fd as number;
    const line = JSON.stringify({ ...event, runId: this.runId, seq: this.seq + 1 });
    const bytes = Buffer.from(line + '\n');
    let done = 0;
    try {
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      if (event.type !== 'step' && event.type !== 'metric') fsyncSync(fd);
    } catch (err) {
      try {
        ftruncateSync(fd, this.size);
      } catch {
        // nothing more to do: readers skip a torn last line
      }
      throw err;
    }
    this.size += bytes.length;
    this.seq++;
    // What subscribers get is what a reader of the file gets (no undefined fields, no -0, no NaN).
    const stamped = JSON.parse(line) as RunEvent;
    if (stamped.step > this.lastStep) this.lastStep = stamped.step;
    return stamped;
  }

  /**
   * Writes the big arrays of a snapshot; returns the path relative to the run dir. A write
   * that fails leaves no file, ends a live run `failed` with the reason and throws it in one
   * line: `snapshot at step 200: no space left on device (ENOSPC)`.
   */
  writeSnapshot(step: number, arrays: SnapshotArrays): string {
    const rel = join('snapshots', `${step}.bin`);
    try {
      writeFileAtomic(join(this.dir, rel), encodeArrays(arrays));
    } catch (err) {
      throw this.failWith(writeError(`snapshot at step ${step}`, err));
    }
    return rel;
  }

  /**
   * Merges `patch` into meta.json (written atomically). A write that fails ends a live run
   * `failed` with the reason and throws it in one line.
   */
  updateMeta(patch: Partial<RunMeta>): void {
    this.meta = { ...this.meta, ...patch };
    try {
      writeMeta(this.dir, this.meta);
    } catch (err) {
      throw this.failWith(writeError(`meta.json of run ${this.runId}`, err));
    }
  }

  /** Ends a live run `failed` with `err`'s message (see `fail`); returns `err`. */
  private failWith(err: Error): Error {
    if (this.fd !== null) this.fail(err, err.message);
    return err;
  }

  /** Appends the run-end event (returned) unless the run is already closed. */
  close(status: RunEndEvent['status'], step: number, error?: string): RunEvent | undefined {
    if (this.fd === null) return undefined;
    // A run that fails for want of space still gets its end written.
    this.freeReserve();
    let end: RunEvent;
    try {
      end = this.write({
        type: 'run-end',
        runId: this.runId,
        step,
        time: Date.now(),
        status,
        error,
      });
    } catch (err) {
      this.fail(err, status === 'failed' ? error : undefined);
      throw new Error(
        `cannot write ${join(this.dir, 'events.jsonl')}: ${reason(err)} (the run ended failed)`,
        { cause: err },
      );
    }
    this.finish({ status, lastStep: step, ...(error === undefined ? {} : { error }) });
    this.subject.next(end);
    this.hub?.next(end);
    this.subject.complete();
    return end;
  }

  /**
   * Ends the run `failed` after a write error: the reason goes into meta.json and, space
   * permitting (the reserve is given back first), a run-end event.
   */
  private fail(err: unknown, why?: string): void {
    if (this.fd === null) return;
    this.freeReserve();
    const error = why ?? `cannot write the run: ${reason(err)}`;
    let end: RunEvent | undefined;
    try {
      end = this.write({
        type: 'run-end',
        runId: this.runId,
        step: this.lastStep,
        time: Date.now(),
        status: 'failed',
        error,
      });
    } catch {
      // meta.json below still says why
    }
    this.finish({ status: 'failed', lastStep: this.lastStep, error });
    if (end) {
      this.subject.next(end);
      this.hub?.next(end);
    }
    this.subject.complete();
  }

  /** Records the end in meta.json, closes the file and lets go of the lock. */
  private finish(patch: Partial<RunMeta>): void {
    const rest: StoredMeta = { ...this.meta };
    delete rest.pid;
    this.meta = { ...rest, ...patch, lastSeq: this.seq };
    try {
      writeMeta(this.dir, this.meta);
    } catch {
      // Disk still full: overwrite in place, which needs no new space in practice.
      try {
        writeFileSync(join(this.dir, 'meta.json'), JSON.stringify(this.meta, null, 2));
      } catch {
        // nothing left to try; readers see `interrupted` once the lock is gone
      }
    }
    try {
      closeSync(this.fd as number);
    } catch {
      // already closed
    }
    this.fd = null;
    this.freeReserve();
    this.lock.release();
  }

  private freeReserve(): void {
    rmSync(join(this.dir, RESERVE_FILE), { force: true });
  }
}

/**
 * Removes the temporary files a writer of this run left when it was killed mid-write (a
 * checkpoint's `weights.bin.tmp-<pid>`, a snapshot's): under the run's lock nobody else writes
 * them. Lock files of other processes (`writer.lock.tmp-…`) are not touched.
 */
function removeStaleTemps(dir: string): void {
  const sweep = (d: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(d, name);
      if (/\.tmp-\d+(-\d+)?$/.test(name) && !name.startsWith('writer.lock')) {
        rmSync(path, { force: true });
      } else if (depth > 0 && !name.includes('.')) {
        sweep(path, depth - 1);
      }
    }
  };
  sweep(join(dir, 'snapshots'), 0);
  sweep(join(dir, 'checkpoints'), 1);
  sweep(dir, 0);
}

/** Removes the empty skeleton of a run dir; anything written there by others stays. */
function removeEmptyRunDir(dir: string): void {
  for (const d of [join(dir, 'snapshots'), join(dir, 'checkpoints'), dir]) {
    try {
      rmdirSync(d);
    } catch {
      // not there, or not empty: not ours to remove
    }
  }
}

/**
 * Rewrites events.jsonl with only the lines that are not events, or are events `keep` accepts
 * (up to `completeBytes`: a torn last line goes), via a temp file renamed over the old one.
 */
function rewriteKeeping(file: string, completeBytes: number, keep: (e: RunEvent) => boolean) {
  const text = readFileSync(file).subarray(0, completeBytes).toString('utf8');
  const kept: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const e = parseEventLine(line);
    if (typeof e === 'string' || keep(e)) kept.push(line);
  }
  const tmp = tempPathFor(file);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const data = Buffer.from(kept.length ? kept.join('\n') + '\n' : '');
      let done = 0;
      while (done < data.length) done += writeSync(fd, data, done, data.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
