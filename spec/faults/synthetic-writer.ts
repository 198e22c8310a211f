/**
 * A stand-in for the training composition in fault trials: writes a synthetic run the way the
 * experiment does (per snapshot: the arrays, a checkpoint named by its step, then the snapshot,
 * assessment and phase events), can kill its own process at a chosen write site, and resumes
 * a killed run from its newest checkpoint with the store's resume helpers.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticRun } from '../../engine/server/synthetic-run.js';
import { planResume, type ResumePlan } from '../../engine/store/resume.js';
import { RunStore, writeFileAtomic } from '../../engine/store/run-store.js';
import type { UnsequencedEvent } from '../../streams/events.js';

export interface WriterOptions {
  runId: string;
  steps: number;
  snapshotEvery: number;
  /** Pause a macrotask every this many steps (so a kill can land anywhere). */
  yieldEvery?: number;
}

/** Where a writer can be killed. */
export const KILL_SITES = [
  'step',
  'snapshot-bin',
  'checkpoint',
  'snapshot-event',
  'assessment',
  'phase',
  'torn-line',
] as const;
export type KillSite = (typeof KILL_SITES)[number];

export interface KillAt {
  site: KillSite;
  /** Kill at the nth time the site is reached (1-based). */
  nth: number;
}

const events = (o: WriterOptions) =>
  syntheticRun({
    runId: o.runId,
    steps: o.steps,
    snapshotEvery: o.snapshotEvery,
    points: 12,
    thumbs: 2,
    size: 8,
  });

/** The newest checkpoint step of a run (0 when none is complete). */
export function latestCheckpoint(dir: string): number {
  const root = join(dir, 'checkpoints');
  if (!existsSync(root)) return 0;
  const steps = readdirSync(root)
    .map(Number)
    .filter((n) => Number.isInteger(n) && existsSync(join(root, String(n), 'state.json')));
  return steps.length ? Math.max(...steps) : 0;
}

function saveCheckpoint(dir: string, step: number): void {
  const root = join(dir, 'checkpoints');
  mkdirSync(join(root, String(step)), { recursive: true });
  writeFileAtomic(join(root, String(step), 'state.json'), JSON.stringify({ step }));
  const state = JSON.parse(readFileSync(join(root, String(step), 'state.json'), 'utf8'));
  if (state.step !== step) throw new Error('checkpoint holds the wrong step');
  // Keep this one and the one before (in case this one is cut short), drop older ones.
  const older = readdirSync(root)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n < step)
    .sort((a, b) => b - a)
    .slice(1);
  for (const n of older) rmSync(join(root, String(n)), { recursive: true });
}

/**
 * Writes the run's events from `fromStep` on (exclusive) into `store`; `kill` is called at
 * every write site and may end the process.
 */
export async function writeEvents(
  store: RunStore,
  o: WriterOptions,
  fromStep: number,
  kill: (site: KillSite) => void = () => undefined,
): Promise<void> {
  let k = 0;
  for (const e of events(o)) {
    if (e.type === 'run-start' || e.step <= fromStep) continue;
    if (e.type === 'snapshot') {
      store.writeSnapshot(e.step, {
        labels: new Float32Array(4),
        images: new Float32Array(16),
        activations: new Float32Array(8),
      });
      kill('snapshot-bin');
      saveCheckpoint(store.dir, e.step);
      kill('checkpoint');
    }
    if (e.type === 'step' && ++k % (o.yieldEvery ?? 5) === 0) {
      await new Promise((r) => setTimeout(r, 0));
    }
    if (e.type === 'step') kill('torn-line');
    store.append(e);
    kill(e.type === 'snapshot' ? 'snapshot-event' : (e.type as KillSite));
  }
}

/** The events the synthetic run has at one step, by type. */
function eventAt(o: WriterOptions, step: number, type: string): UnsequencedEvent | undefined {
  for (const e of events(o)) if (e.step === step && e.type === type) return e;
  return undefined;
}

/**
 * Resumes a killed run the way the composition should: from the newest checkpoint, dropping
 * later events, re-taking a snapshot the checkpoint's step lost, re-assessing snapshots left
 * without an assessment, appending a phase change that was confirmed but not logged.
 */
export async function resumeRun(
  dir: string,
  o: WriterOptions,
  kill?: (site: KillSite) => void,
): Promise<ResumePlan> {
  const step = latestCheckpoint(dir);
  const plan = planResume(dir, step);
  const store = RunStore.open(dir, { resumeAt: step });
  store.append({
    type: 'run-start',
    runId: store.runId,
    step,
    time: Date.now(),
    meta: store.info,
  });
  if (step > 0 && !plan.snapshotAtStep) {
    store.append(eventAt(o, step, 'snapshot')!);
  }
  if (plan.phaseEventDue) {
    const { from, to, step: at } = plan.phaseEventDue;
    store.append({
      type: 'phase',
      runId: store.runId,
      step: at,
      time: Date.now(),
      from,
      to,
      evidence: {},
    });
  }
  const reassess = plan.unassessed.map((s) => s.step);
  if (step > 0 && !plan.snapshotAtStep) reassess.push(step);
  for (const s of reassess) {
    store.append(eventAt(o, s, 'assessment')!);
    const phase = eventAt(o, s, 'phase');
    if (phase) store.append(phase);
  }
  await writeEvents(store, o, step, kill);
  store.close('completed', o.steps);
  return plan;
}
