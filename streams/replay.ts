import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Observable } from 'rxjs';
import type { RunEvent } from './events.js';

/** A line of `events.jsonl` that was skipped: 1-based line number and why. */
export interface BadLine {
  line: number;
  reason: string;
}

/** What a read of `events.jsonl` found. */
export interface RunLog {
  /** The readable events with `seq` above the `sinceSeq` asked for, in file order. */
  events: RunEvent[];
  /** Lines skipped: not JSON, not an event, or a `seq` not above the one before. */
  bad: BadLine[];
  /** Bytes of the file up to the end of its last complete line. */
  completeBytes: number;
  /** Bytes after the last newline: a line still being written, or cut by a kill. */
  tornBytes: number;
  /** Highest `seq` of any readable line (also those at or below `sinceSeq`); 0 if none. */
  lastSeq: number;
}

/**
 * Parses one line of `events.jsonl`; a string result says why it is not an event. An event is
 * a JSON object with a string `type`, a numeric `step` and an integer `seq` >= 1.
 */
export function parseEventLine(text: string): RunEvent | string {
  let e: unknown;
  try {
    e = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return 'not a JSON object';
  const o = e as Record<string, unknown>;
  if (typeof o.type !== 'string') return 'no "type"';
  if (typeof o.seq !== 'number' || !Number.isInteger(o.seq) || o.seq < 1) return 'no valid "seq"';
  if (typeof o.step !== 'number') return 'no numeric "step"';
  return e as RunEvent;
}

/**
 * Splits `events.jsonl` text, fed in chunks of any size, into events. A line that is not an
 * event, or whose `seq` is not above the last good one, is skipped and handed to `onBad` with
 * its line number; it never stops the read. Text after the last newline waits for more.
 */
export class EventLineSplitter {
  private carry = '';
  private lineNo: number;
  /** Highest `seq` read so far. */
  lastSeq: number;

  /** `from`: where in the file the text fed starts (lines before it, highest `seq` before it). */
  constructor(
    private readonly onBad: (bad: BadLine) => void = () => undefined,
    from: { line: number; lastSeq: number } = { line: 0, lastSeq: 0 },
  ) {
    this.lineNo = from.line;
    this.lastSeq = from.lastSeq;
  }

  /** Complete lines split so far (including those fed before `from`). */
  get line(): number {
    return this.lineNo;
  }

  /** The complete lines in `chunk` (with what was carried over), as events and their text. */
  push(chunk: string): Array<{ event: RunEvent; text: string }> {
    const text = this.carry + chunk;
    const out: Array<{ event: RunEvent; text: string }> = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const line = text.slice(start, nl);
      start = nl + 1;
      this.lineNo++;
      if (line === '') continue;
      const e = parseEventLine(line);
      if (typeof e === 'string') {
        this.onBad({ line: this.lineNo, reason: e });
      } else if (e.seq <= this.lastSeq) {
        this.onBad({ line: this.lineNo, reason: `seq ${e.seq} not above ${this.lastSeq}` });
      } else {
        this.lastSeq = e.seq;
        out.push({ event: e, text: line });
      }
    }
    this.carry = text.slice(start);
    return out;
  }

  /** Characters after the last newline seen. */
  get pending(): number {
    return this.carry.length;
  }
}

/** One line naming the skipped lines of a run's log, e.g. for a warning. */
export function describeBadLines(file: string, bad: readonly BadLine[]): string {
  const shown = bad
    .slice(0, 5)
    .map((b) => `line ${b.line} (${b.reason})`)
    .join(', ');
  const more = bad.length > 5 ? ` and ${bad.length - 5} more` : '';
  return `${file}: skipped ${bad.length} unreadable line${bad.length === 1 ? '' : 's'}: ${shown}${more}`;
}

/**
 * Reads the events of a stored run, in order, skipping (and listing) unreadable lines. A
 * half-written last line (a run killed mid-append) is left out and counted in `tornBytes`.
 */
export function readRunLog(runDir: string, sinceSeq = -Infinity): RunLog {
  const file = join(runDir, 'events.jsonl');
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new Error(`runDir "${runDir}" is not a readable phasewatch run (no events.jsonl)`);
  }
  const completeBytes = bytes.lastIndexOf(0x0a) + 1;
  const bad: BadLine[] = [];
  const splitter = new EventLineSplitter((b) => bad.push(b));
  const events: RunEvent[] = [];
  for (const { event } of splitter.push(bytes.subarray(0, completeBytes).toString('utf8'))) {
    if (event.seq > sinceSeq) events.push(event);
  }
  return {
    events,
    bad,
    completeBytes,
    tornBytes: bytes.length - completeBytes,
    lastSeq: splitter.lastSeq,
  };
}

/**
 * The readable events of a stored run with `seq` above `sinceSeq`, in order. Unreadable lines
 * are skipped (see `readRunLog` to learn which).
 */
export function readRunEvents(runDir: string, sinceSeq = -Infinity): RunEvent[] {
  return readRunLog(runDir, sinceSeq).events;
}

export interface ReplayOptions {
  /** Told of each unreadable line skipped; by default one warning line on stderr per run. */
  onBadLines?: (bad: BadLine[], file: string) => void;
}

/**
 * The stored events of a run as a cold Observable, in `seq` order. Unreadable lines are
 * skipped and reported by line number, never fatal.
 *
 * @example
 * replay('runs/2026-11-23-abc').pipe(filter((e) => e.type === 'phase')).subscribe(console.log);
 */
export function replay(runDir: string, opts: ReplayOptions = {}): Observable<RunEvent> {
  return new Observable<RunEvent>((subscriber) => {
    let log: RunLog;
    try {
      log = readRunLog(runDir);
    } catch (err) {
      subscriber.error(err);
      return;
    }
    if (log.bad.length) {
      const file = join(runDir, 'events.jsonl');
      if (opts.onBadLines) opts.onBadLines(log.bad, file);
      else process.stderr.write(`phasewatch: ${describeBadLines(file, log.bad)}\n`);
    }
    for (const e of log.events) {
      if (subscriber.closed) return;
      subscriber.next(e);
    }
    subscriber.complete();
  });
}
