import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Observable } from 'rxjs';
import type { RunEvent } from './events.js';

/**
 * Reads the events of a stored run, in order. A half-written last line (a run killed
 * mid-append) is ignored; any other malformed line is an error naming the line.
 */
export function readRunEvents(runDir: string, sinceSeq = -Infinity): RunEvent[] {
  const file = join(runDir, 'events.jsonl');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`runDir "${runDir}" is not a readable phasewatch run (no events.jsonl)`);
  }
  const lines = text.split('\n');
  lines.pop(); // '' after the last newline, or a line still being written
  const events: RunEvent[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '') continue;
    let e: RunEvent;
    try {
      e = JSON.parse(lines[i]) as RunEvent;
    } catch {
      throw new Error(`${file}: line ${i + 1} is not valid JSON`);
    }
    if (e.seq > sinceSeq) events.push(e);
  }
  return events;
}

/**
 * The stored events of a run as a cold Observable, in `seq` order.
 *
 * @example
 * replay('runs/2026-11-23-abc').pipe(filter((e) => e.type === 'phase')).subscribe(console.log);
 */
export function replay(runDir: string): Observable<RunEvent> {
  return new Observable<RunEvent>((subscriber) => {
    let events: RunEvent[];
    try {
      events = readRunEvents(runDir);
    } catch (err) {
      subscriber.error(err);
      return;
    }
    for (const e of events) {
      if (subscriber.closed) return;
      subscriber.next(e);
    }
    subscriber.complete();
  });
}
