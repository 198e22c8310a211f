import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRunMeta } from '../../../engine/store/run-store.js';
import type { RunEvent } from '../../../streams/events.js';

/** What is wrong with a stored run that should have completed `steps` steps; empty if nothing. */
export function storedRunProblems(dir: string, steps: number): string[] {
  const problems: string[] = [];
  const events = readFileSync(join(dir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RunEvent);
  // seq goes up, by exactly one within the last attempt (from its run-start on) and in a run
  // never resumed. An earlier attempt's part may have holes: a resumed run drops the events
  // of steps after its checkpoint (wherever they lie in the file) and continues above every
  // seq written before.
  const lastStart = events.map((e) => e.type).lastIndexOf('run-start');
  for (let i = 1; i < events.length; i++) {
    const e = events[i];
    const prev = events[i - 1].seq;
    if (e.seq <= prev) problems.push(`seq ${e.seq} after ${prev}`);
    else if (e.seq !== prev + 1 && (i > lastStart || lastStart === 0)) {
      problems.push(`seq jumps from ${prev} to ${e.seq} at a ${e.type} event`);
    }
  }
  if (events[0]?.seq !== 1) problems.push(`first seq ${events[0]?.seq}`);
  const stepCount = new Map<number, number>();
  for (const e of events)
    if (e.type === 'step') stepCount.set(e.step, (stepCount.get(e.step) ?? 0) + 1);
  for (let s = 1; s <= steps; s++) {
    if (stepCount.get(s) !== 1) problems.push(`step ${s} stored ${stepCount.get(s) ?? 0} times`);
  }
  // One run-end in the last attempt, last, completed (an earlier attempt stopped exactly at its
  // checkpoint step keeps its own run-end, as a locally resumed run does).
  const ends = events.slice(lastStart).filter((e) => e.type === 'run-end');
  if (ends.length !== 1 || events.at(-1)?.type !== 'run-end') {
    problems.push(
      `${ends.length} run-end events in the last attempt; last event ${events.at(-1)?.type}`,
    );
  } else if (ends[0].type === 'run-end' && ends[0].status !== 'completed') {
    problems.push(`run-end ${ends[0].status}`);
  }
  const status = readRunMeta(dir).status;
  if (status !== 'completed') problems.push(`meta.json says ${status}`);
  return problems;
}

/** The stored events of a run. */
export function storedEvents(dir: string): RunEvent[] {
  return readFileSync(join(dir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RunEvent);
}
