import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RunMeta } from '../../streams/events.js';
import { isValidRunId, runIdError } from '../../streams/protocol.js';
import { writeFileAtomic } from './atomic-file.js';
import { acquireRunLock, lockHolder, type RunLock } from './lock.js';

/** What meta.json holds, plus the highest `seq` ever given out (kept across a resume). */
export type StoredMeta = RunMeta & { lastSeq?: number };

/** Writes a run's meta.json whole or not at all. */
export function writeMeta(dir: string, meta: StoredMeta): void {
  writeFileAtomic(join(dir, 'meta.json'), JSON.stringify(meta, null, 2));
}

/** What a user may change about a run after it started: its name, tags and notes. */
export interface RunLabels {
  name?: string;
  tags?: string[];
  notes?: string;
}

export const LABELS_FILE = 'labels.json';

/**
 * The labels edited after a run started (`labels.json`; empty when there is none or it is
 * unreadable). They live apart from `meta.json`, which the run's own writer rewrites, so an
 * edit of a live run is never lost; `readRunMeta` lays them over the meta.
 */
export function readRunLabels(dir: string): RunLabels {
  const file = join(dir, LABELS_FILE);
  if (!existsSync(file)) return {};
  try {
    return checkLabels(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return {};
  }
}

/**
 * The highest `seq` meta.json says was ever given out (0 when it does not say): above what
 * `events.jsonl` holds when a resume dropped events and was killed before writing new ones.
 */
export function metaLastSeq(dir: string): number {
  try {
    const raw = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as StoredMeta;
    return typeof raw.lastSeq === 'number' && Number.isInteger(raw.lastSeq) ? raw.lastSeq : 0;
  } catch {
    return 0;
  }
}

/** @deprecated The old name of `metaLastSeq` (easily confused with `lastLoggedSeq`). */
export const storedLastSeq = metaLastSeq;

/**
 * Reads `meta.json` of a run dir, with a one-line error when it is missing, corrupt, or names
 * a run id that could not be a directory name (e.g. `..`). A run still marked `running` whose
 * writer is gone (no live lock holder) reads as `interrupted`.
 */
export function readRunMeta(dir: string): RunMeta {
  let meta: StoredMeta;
  try {
    meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as StoredMeta;
  } catch {
    throw new Error(`runDir "${dir}" is not a readable phasewatch run (no valid meta.json)`);
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new Error(
      `runDir "${dir}" is not a readable phasewatch run (meta.json is not an object)`,
    );
  }
  if (!isValidRunId(meta.runId)) {
    throw new Error(`${join(dir, 'meta.json')}: ${runIdError('runId', meta.runId)}`);
  }
  const out: StoredMeta = { ...meta, ...readRunLabels(dir) };
  delete out.lastSeq;
  if (out.status === 'running' && !lockHolder(dir)) {
    out.status = 'interrupted';
    delete out.pid;
  }
  return out;
}

/**
 * Records in meta.json that a run marked `running` has no writer any more (it was killed or
 * crashed): status `interrupted`. Takes the lock to do it, so a writer starting meanwhile is
 * never overwritten; a run that is live, already ended, or cannot be written is left alone.
 * True when meta.json was changed.
 */
export function markInterrupted(dir: string): boolean {
  let stored: StoredMeta;
  try {
    stored = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as StoredMeta;
  } catch {
    return false;
  }
  if (stored.status !== 'running' || lockHolder(dir)) return false;
  let lock: RunLock;
  try {
    lock = acquireRunLock(dir);
  } catch {
    return false;
  }
  try {
    const now = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as StoredMeta;
    if (now.status !== 'running') return false;
    const { pid, ...rest } = now;
    writeMeta(dir, {
      ...rest,
      status: 'interrupted',
      error: `the writing process${pid ? ` (pid ${pid})` : ''} ended without closing the run`,
    });
    return true;
  } catch {
    return false;
  } finally {
    lock.release();
  }
}

/**
 * The runs stored under `runsDir`, oldest first. Dirs that are not runs, and runs whose
 * meta.json names another (or an invalid) run id, are skipped. Runs whose writer died read
 * (and are recorded) as `interrupted`.
 */
export function listRuns(runsDir: string): RunMeta[] {
  if (!existsSync(runsDir)) return [];
  return readdirSync(runsDir)
    .filter((name) => isValidRunId(name) && existsSync(join(runsDir, name, 'meta.json')))
    .sort()
    .flatMap((name) => {
      try {
        const dir = join(runsDir, name);
        const meta = readRunMeta(dir);
        if (meta.runId !== basename(dir)) return [];
        if (meta.status === 'interrupted') markInterrupted(dir);
        return [meta];
      } catch {
        return [];
      }
    });
}

/** Validates labels; throws one line naming the field, the value and what is accepted. */
export function checkLabels(value: unknown): RunLabels {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('labels must be an object with name, tags or notes');
  }
  const out: RunLabels = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'name' || key === 'notes') {
      const max = key === 'name' ? 200 : 10_000;
      if (typeof v !== 'string' || v.length > max || hasControl(v)) {
        throw new Error(
          `${key} must be text of at most ${max} characters (got ${JSON.stringify(v)?.slice(0, 80)})`,
        );
      }
      out[key] = v;
    } else if (key === 'tags') {
      const ok =
        Array.isArray(v) &&
        v.length <= 50 &&
        v.every(
          (t) => typeof t === 'string' && t.length >= 1 && t.length <= 64 && !/[,\s]/.test(t),
        );
      if (!ok) {
        throw new Error(
          `tags must be a list of at most 50 words of 1-64 characters without commas or spaces (got ${JSON.stringify(v)?.slice(0, 80)})`,
        );
      }
      out.tags = v as string[];
    } else {
      throw new Error(`unknown label "${key}" (accepted: name, tags, notes)`);
    }
  }
  return out;
}

/** True when text holds control characters other than tab and newline. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 && c !== 9 && c !== 10) return true;
  }
  return false;
}
