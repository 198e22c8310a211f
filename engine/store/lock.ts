import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';

/** The lock file in a run directory while a process writes the run. */
export const LOCK_FILE = 'writer.lock';

/** What a lock file holds. */
export interface LockInfo {
  pid: number;
  host: string;
  /** When the lock was taken (ISO time). */
  since: string;
  /** Start time of the holder in clock ticks since boot (Linux), so a reused PID is not taken for it. */
  start?: string;
}

/** Run dirs this process holds, by real path: a second writer in the same process is refused too. */
const heldHere = new Set<string>();

/** Start time of a process (Linux `/proc/<pid>/stat` field 22), undefined elsewhere. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True while the process is alive (a zombie, killed but not yet reaped, counts as gone). */
export function processAlive(pid: number, start?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return false;
    if (start !== undefined && fields[19] !== start) return false;
  } catch {
    // No /proc (not Linux): kill(pid, 0) is all we know.
  }
  return true;
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockInfo>;
    if (typeof o.pid === 'number' && typeof o.host === 'string') return o as LockInfo;
  } catch {
    // fall through
  }
  return undefined;
}

function realDir(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

/**
 * The process holding the run's lock, if it is still alive; undefined when the run has no
 * writer (no lock, a corrupt lock, or a holder that died). A lock taken on another host
 * cannot be checked and counts as held.
 */
export function lockHolder(dir: string): LockInfo | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, LOCK_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const info = parseLock(text);
  if (!info) return undefined;
  if (info.host !== hostname()) return info;
  if (info.pid === process.pid) return heldHere.has(realDir(dir)) ? info : undefined;
  return processAlive(info.pid, info.start) ? info : undefined;
}

/** A lock on a run directory, held until `release()`. */
export interface RunLock {
  readonly dir: string;
  readonly info: LockInfo;
  release(): void;
}

let counter = 0;
const unique = () => `${process.pid}-${Date.now().toString(36)}-${counter++}`;

function busyError(dir: string, holder: LockInfo): Error {
  const where =
    holder.host === hostname() ? `process ${holder.pid}` : `${holder.host} pid ${holder.pid}`;
  return new Error(
    `run "${basename(dir)}" is being written by ${where} since ${holder.since} (lock ${join(dir, LOCK_FILE)}); stop it first, or wait for it to end`,
  );
}

/**
 * Takes the writer's lock of a run directory: a file made whole in one step (hard link of a
 * written temp file), holding this process's PID. A lock whose holder died (killed, crashed)
 * is detected and taken over; one whose holder lives is refused with a one-line error.
 *
 * @example
 * const lock = acquireRunLock('runs/abc');
 * try { ... } finally { lock.release(); }
 */
export function acquireRunLock(dir: string): RunLock {
  const path = join(dir, LOCK_FILE);
  const real = realDir(dir);
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    start: processStart(process.pid),
  };
  const text = JSON.stringify(info) + '\n';
  if (heldHere.has(real)) throw busyError(dir, info);
  for (let attempt = 0; attempt < 8; attempt++) {
    const tmp = `${path}.tmp-${unique()}`;
    const fd = openSync(tmp, 'wx');
    try {
      writeSync(fd, text);
    } catch (err) {
      // a full disk: leave no half-written lock behind
      closeSync(fd);
      unlinkSync(tmp);
      throw err;
    }
    closeSync(fd);
    try {
      linkSync(tmp, path);
      heldHere.add(real);
      return makeLock(dir, real, path, info);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(tmp);
    }
    // Somebody's lock is there: refuse if they live, else move their stale lock aside.
    let existing: string;
    try {
      existing = readFileSync(path, 'utf8');
    } catch {
      continue; // gone meanwhile: try again
    }
    const holder = lockHolder(dir);
    if (holder) throw busyError(dir, holder);
    const aside = `${path}.stale-${unique()}`;
    try {
      renameSync(path, aside);
    } catch {
      continue; // another process moved it first
    }
    // Between our read and the rename another process may have taken over: put theirs back.
    const moved = readFileSync(aside, 'utf8');
    if (moved !== existing) {
      try {
        linkSync(aside, path);
      } catch {
        // a third process got there: its lock stands
      }
    }
    unlinkSync(aside);
  }
  throw new Error(`cannot take the lock of run "${basename(dir)}" (${path}): it keeps changing`);
}

function makeLock(dir: string, real: string, path: string, info: LockInfo): RunLock {
  let held = true;
  return {
    dir,
    info,
    release() {
      if (!held) return;
      held = false;
      heldHere.delete(real);
      try {
        if (parseLock(readFileSync(path, 'utf8'))?.pid === info.pid) unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}
