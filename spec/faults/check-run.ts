import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readRunMeta } from '../../engine/store/run-store.js';
import type { RunEvent } from '../../streams/events.js';
import { syntheticRun } from '../../engine/server/synthetic-run.js';
import type { WriterOptions } from './synthetic-writer.js';

/** What was wrong with a finished run; empty when nothing. */
export interface RunCheck {
  problems: string[];
  lines: number;
  events: RunEvent[];
}

/** Files left behind anywhere under `dir` by an atomic write that did not finish. */
export function tempFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...tempFiles(path));
    else if (/\.tmp-|\.stale-/.test(name)) out.push(path);
  }
  return out;
}

/**
 * Checks a run that was written, killed, resumed and completed against the synthetic run it
 * should equal: no torn or unreadable line, `seq` strictly increasing, every step once, every
 * snapshot once with exactly one assessment, one phase sequence, one run-end, no temp files.
 */
export function checkRun(dir: string, o: WriterOptions): RunCheck {
  const problems: string[] = [];
  const text = readFileSync(join(dir, 'events.jsonl'), 'utf8');
  if (!text.endsWith('\n')) problems.push('the file ends in a torn line');
  const lines = text.split('\n').slice(0, -1);
  const events: RunEvent[] = [];
  lines.forEach((line, i) => {
    try {
      events.push(JSON.parse(line) as RunEvent);
    } catch {
      problems.push(`line ${i + 1} is not JSON: ${line.slice(0, 60)}`);
    }
  });
  for (let i = 1; i < events.length; i++) {
    if (events[i].seq <= events[i - 1].seq) {
      problems.push(`seq ${events[i].seq} after ${events[i - 1].seq} (line ${i + 1})`);
    }
  }
  const count = (type: string) => {
    const by = new Map<number, number>();
    for (const e of events) if (e.type === type) by.set(e.step, (by.get(e.step) ?? 0) + 1);
    return by;
  };
  const steps = count('step');
  const snaps = count('snapshot');
  const assessments = count('assessment');
  for (let s = 1; s <= o.steps; s++) {
    if (steps.get(s) !== 1) problems.push(`step ${s} appears ${steps.get(s) ?? 0} times`);
    if (s % o.snapshotEvery === 0) {
      if (snaps.get(s) !== 1) problems.push(`snapshot ${s} appears ${snaps.get(s) ?? 0} times`);
      if (assessments.get(s) !== 1) {
        problems.push(`assessment ${s} appears ${assessments.get(s) ?? 0} times`);
      }
    }
  }
  const expectedPhases = [...syntheticRun({ ...o, points: 12, thumbs: 2, size: 8 })]
    .filter((e) => e.type === 'phase')
    .map((e) => (e.type === 'phase' ? `${e.from}>${e.to}@${e.step}` : ''));
  const phases = events
    .map((e) => (e.type === 'phase' ? `${e.from}>${e.to}@${e.step}` : ''))
    .filter(Boolean);
  if (phases.join(' ') !== expectedPhases.join(' ')) {
    problems.push(`phases ${phases.join(' ')} (expected ${expectedPhases.join(' ')})`);
  }
  const ends = events.filter((e) => e.type === 'run-end');
  if (ends.length !== 1 || events.at(-1)?.type !== 'run-end') {
    problems.push(`${ends.length} run-end events, last event ${events.at(-1)?.type}`);
  }
  const meta = readRunMeta(dir);
  if (meta.status !== 'completed') problems.push(`meta.json says ${meta.status}`);
  const temps = tempFiles(dir);
  if (temps.length) problems.push(`temp files left: ${temps.join(', ')}`);
  for (const f of ['writer.lock', '.reserve']) {
    if (existsSync(join(dir, f))) problems.push(`${f} left after the run ended`);
  }
  return { problems, lines: lines.length, events };
}
