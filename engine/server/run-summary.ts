import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Phase, RunEvent } from '../../streams/events.js';
import type { RunSummary } from '../../streams/protocol.js';
import { parseEventLine } from '../../streams/replay.js';

/** Metrics kept per run; more names than this are left out of its summary. */
export const MAX_SUMMARY_METRICS = 200;

const PHASES: readonly Phase[] = ['A', 'B', 'C'];

/** Bytes read from a log at a time. */
const CHUNK = 1 << 20;

/** An empty summary of `runId`. */
export function emptySummary(runId: string): RunSummary {
  return { runId, status: 'running', lastSeq: 0, lastStep: 0, phases: {}, metrics: {} };
}

/**
 * Folds one event into a summary: events at or below its `lastSeq` are already in it and
 * change nothing, so a log read and the live events of the same run can both feed it.
 */
export function foldSummary(summary: RunSummary, e: RunEvent): void {
  if (e.seq <= summary.lastSeq) return;
  summary.lastSeq = e.seq;
  if (Number.isFinite(e.step)) summary.lastStep = Math.max(summary.lastStep, e.step);
  switch (e.type) {
    case 'run-start':
      summary.status = 'running';
      break;
    case 'run-end':
      summary.status = e.status;
      break;
    case 'phase': {
      if (!PHASES.includes(e.to)) break;
      const seen = summary.phases[e.to];
      if (seen === undefined || e.step < seen) summary.phases[e.to] = e.step;
      break;
    }
    case 'metric': {
      if (!Number.isFinite(e.value) || typeof e.name !== 'string') break;
      // own properties only: a metric named `__proto__` or `toString` is a metric like any
      const m = Object.hasOwn(summary.metrics, e.name) ? summary.metrics[e.name] : undefined;
      if (m) {
        m.last = e.value;
        m.min = Math.min(m.min, e.value);
        m.max = Math.max(m.max, e.value);
      } else if (Object.keys(summary.metrics).length < MAX_SUMMARY_METRICS) {
        Object.defineProperty(summary.metrics, e.name, {
          value: { last: e.value, min: e.value, max: e.value },
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      break;
    }
    default:
  }
}

interface Entry {
  summary: RunSummary;
  /** Bytes of events.jsonl read (up to the end of its last whole line). */
  offset: number;
  size: number;
  mtimeMs: number;
  /** The log's inode: a log rewritten (renamed over) is read afresh. */
  ino: number;
}

/**
 * Per run, what it came to (`RunSummary`), for the catalogue: built from `events.jsonl` the
 * first time it is asked for, then kept current by the live events and by reading only what
 * was appended to the log since (a log whose size and mtime are unchanged is not read again;
 * one rewritten by a resume, a new file, is read afresh).
 */
export class RunSummaries {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly runsDir: string) {}

  /** Takes in one live event (of a run summarised already; others are read when asked for). */
  observe(e: RunEvent): void {
    const entry = this.entries.get(e.runId);
    if (entry) foldSummary(entry.summary, e);
  }

  /** The summary of `runId`, its log's new lines read first; a copy. */
  get(runId: string): RunSummary {
    const file = join(this.runsDir, runId, 'events.jsonl');
    let size = 0;
    let mtimeMs = 0;
    let ino = 0;
    try {
      ({ size, mtimeMs, ino } = statSync(file));
    } catch {
      // no log yet: what the live events said, if anything
    }
    let entry = this.entries.get(runId);
    if (!entry || size < entry.offset || (entry.ino !== 0 && ino !== entry.ino)) {
      entry = { summary: emptySummary(runId), offset: 0, size: 0, mtimeMs: 0, ino };
      this.entries.set(runId, entry);
    }
    if (size !== entry.size || mtimeMs !== entry.mtimeMs) {
      entry.offset = this.readFrom(file, entry.offset, size, entry.summary);
      entry.size = size;
      entry.mtimeMs = mtimeMs;
      entry.ino = ino;
    }
    return structuredClone(entry.summary);
  }

  /** Folds in the whole lines of `file` between `offset` and `size`; the new offset. */
  private readFrom(file: string, offset: number, size: number, summary: RunSummary): number {
    if (size <= offset) return offset;
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return offset;
    }
    try {
      let rest = Buffer.alloc(0);
      let at = offset;
      while (at < size) {
        const buf = Buffer.alloc(Math.min(CHUNK, size - at));
        const n = readSync(fd, buf, 0, buf.length, at);
        if (n <= 0) break;
        at += n;
        const chunk = rest.length ? Buffer.concat([rest, buf.subarray(0, n)]) : buf.subarray(0, n);
        const end = chunk.lastIndexOf(10);
        if (end < 0) {
          rest = chunk;
          continue;
        }
        for (const line of chunk.subarray(0, end).toString('utf8').split('\n')) {
          // a blank, torn or foreign line is skipped
          const e = line.trim() ? parseEventLine(line) : undefined;
          if (typeof e === 'object') foldSummary(summary, e);
        }
        rest = chunk.subarray(end + 1);
      }
      return at - rest.length;
    } catch {
      // unreadable (a directory where the log should be, an I/O error): what was folded stays
      return offset;
    } finally {
      closeSync(fd);
    }
  }
}
