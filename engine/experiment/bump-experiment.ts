import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  concat,
  defer,
  EMPTY,
  from,
  merge,
  Observable,
  of,
  share,
  switchMap,
  type OperatorFunction,
  type Subject,
} from 'rxjs';
import { concatMap, filter, finalize, ignoreElements, map, mergeMap, tap } from 'rxjs/operators';
import { assessPhases } from '../../operators/assess-phases.js';
import type { HysteresisState } from '../../operators/phase-hysteresis.js';
import { phaseEvents } from '../../operators/phase-events.js';
import { snapshotEvery } from '../../operators/snapshot-every.js';
import type {
  Dataset,
  EventInput,
  Model,
  Phase,
  RunEvent,
  Snapshot,
  SnapshotEvent,
} from '../../streams/events.js';
import { assessmentEvent, assessmentMetrics } from '../../operators/assessment-events.js';
import { Gate } from '../../streams/gate.js';
import { gaussianBumps } from '../../streams/gaussian-bumps.js';
import { training, type StepInput } from '../../streams/training.js';
import { selectBackend } from '../backend/backend.js';
import { configFromMeta, resolveConfig, type ExperimentConfig } from './config.js';
import { createRng } from '../../streams/random.js';
import { UNET_LAYER, unetDdpm } from '../models/unet-ddpm.js';
import { record } from '../store/record.js';
import { planResume } from '../store/resume.js';
import { readRunMeta, readSnapshotArrays, RunStore } from '../store/run-store.js';

export interface RunOptions {
  /** Where runs are stored (default `runs`). */
  runsDir?: string;
  /** Every stored event of every run is also published here (the live server listens). */
  hub?: Subject<RunEvent>;
  /** A stored run to continue from its newest checkpoint (its own config is used). */
  resume?: string;
  name?: string;
  tags?: string[];
  notes?: string;
  /** The user's own operators on every snapshot (see `BumpExperimentOptions.operators`). */
  operators?: OperatorFunction<Snapshot, EventInput>[];
  /** The user's own operators on the step events (see `BumpExperimentOptions.stepOperators`). */
  stepOperators?: OperatorFunction<StepInput, EventInput>[];
  /** See `RecordOptions.failure`: what ends the run `failed` when it is unsubscribed. */
  failure?: () => unknown;
}

/** What the bump composition needs of the experiment's config. */
export type BumpSettings = Pick<
  ExperimentConfig,
  | 'steps'
  | 'snapshotEvery'
  | 'samples'
  | 'size'
  | 'seed'
  | 'batchSize'
  | 'ddimSteps'
  | 'confirm'
  | 'embed'
>;

export interface BumpExperimentOptions {
  model: Model;
  data: Dataset;
  /** Snapshot arrays and checkpoints go here. */
  store: RunStore;
  config: BumpSettings;
  /** Snapshots that may queue before training waits (default 2). */
  queue?: number;
  /** The user's own operators, each applied to every stored snapshot; what they emit is recorded. */
  operators?: OperatorFunction<Snapshot, EventInput>[];
  /**
   * The user's own operators on the step events (each optimiser step: its loss), e.g.
   * `emaMetric('train/loss-ema')`; what they emit is recorded.
   */
  stepOperators?: OperatorFunction<StepInput, EventInput>[];
  /** What a resumed run continues from (see `planResume`). */
  restore?: Restore;
}

/** The state a resumed run restores, from `planResume` and the stored snapshots. */
export interface Restore {
  hysteresis: HysteresisState;
  phase: Phase | null;
  /** Stored snapshots that have no assessment yet: assessed first. */
  reassess?: Snapshot[];
  /** Take the snapshot of the model's current step first (its event was lost). */
  snapshotNow?: boolean;
  /** A confirmed phase change whose `phase` event was lost: emitted first. */
  phaseEvent?: { from: Phase | null; to: Phase; step: number };
}

/**
 * The seed-004 experiment as one composition of public parts: `training` of the model on the
 * dataset, `snapshotEvery` (never dropping one; training waits while `queue` snapshots are
 * sampling), the snapshot arrays and a checkpoint stored at each snapshot step, `assessPhases`
 * and `phaseEvents`, and the assessment's figures as `metric` events (`phase/accuracy`,
 * `phase/r2x`, …). Pipe it into `record(store)`.
 *
 * @example
 * bumpExperiment({ model, data, store, config }).pipe(record(store)).subscribe();
 */
export function bumpExperiment(opts: BumpExperimentOptions): Observable<EventInput> {
  const { model, data, store, config: cfg } = opts;
  return defer(() => {
    const gate = new Gate(opts.queue ?? 2);
    const startStep = model.step;
    const steps$ = training(model, data, {
      steps: Math.max(0, cfg.steps - startStep),
      startStep,
      batchSize: cfg.batchSize,
      seed: cfg.seed,
      gate,
    }).pipe(share());
    const conditions = snapshotLabels(data, cfg.samples, cfg.seed);
    const restore = opts.restore;
    // A resumed run whose snapshot at the checkpoint step was lost takes it first, from the
    // loaded weights of exactly that step (no step event is recorded for it).
    const due$ = restore?.snapshotNow
      ? concat(of({ type: 'step' as const, step: startStep, loss: 0, examplesPerSec: 0 }), steps$)
      : steps$;
    const snaps$ = due$.pipe(
      snapshotEvery(cfg.snapshotEvery, model, {
        conditions,
        size: cfg.size,
        seed: cfg.seed,
        sampleSteps: cfg.ddimSteps,
        layer: UNET_LAYER,
        gate,
      }),
      map((s) => ({ ...s, runId: store.runId })),
      share(),
    );
    // At each snapshot step, training is between steps: hold it while the weights of exactly
    // this step are saved; the snapshot event is stored once its checkpoint is on disk.
    const saved = new Map<number, Promise<void>>();
    const checkpoints$ = steps$.pipe(
      filter((e) => e.step % cfg.snapshotEvery === 0),
      tap((e) => {
        const resume = gate.pause();
        saved.set(e.step, saveCheckpoint(model, store.dir).finally(resume));
      }),
      ignoreElements(),
    );
    const bySteps = new Map<number, Snapshot>();
    const stored$ = snaps$.pipe(
      concatMap(async (s) => {
        await saved.get(s.step);
        saved.delete(s.step);
        bySteps.set(s.step, s);
        const event: EventInput = {
          type: 'snapshot',
          step: s.step,
          file: store.writeSnapshot(s.step, s),
          count: s.labels.length / 2,
          size: s.size,
          dim: s.dim,
          sampleMs: s.sampleMs ?? 0,
        };
        return { s, event };
      }),
      share(),
    );
    for (const s of restore?.reassess ?? []) bySteps.set(s.step, s);
    const assessed$ = concat(from(restore?.reassess ?? []), stored$.pipe(map(({ s }) => s))).pipe(
      assessPhases({
        confirm: cfg.confirm,
        seed: cfg.seed,
        embed: cfg.embed,
        initial: restore?.hysteresis,
      }),
      share(),
    );
    const snapshots$ = stored$.pipe(map(({ s }) => s));
    const due = restore?.phaseEvent;
    const lostPhase$ = due ? of<EventInput>({ type: 'phase', ...due, evidence: {} }) : EMPTY;
    return concat(
      lostPhase$,
      merge(
        ...(opts.operators ?? []).map((op) => snapshots$.pipe(op)),
        ...(opts.stepOperators ?? []).map((op) => steps$.pipe(op)),
        steps$,
        checkpoints$,
        stored$.pipe(map(({ event }) => event)),
        assessed$.pipe(
          mergeMap((a) => {
            const snap = bySteps.get(a.step);
            bySteps.delete(a.step);
            return snap
              ? [assessmentEvent(a, snap), ...assessmentMetrics(a)]
              : assessmentMetrics(a);
          }),
        ),
        assessed$.pipe(phaseEvents(due ? due.to : (restore?.phase ?? null))),
      ),
    );
  });
}

/**
 * Runs the default experiment: builds the dataset, the UNet DDPM and the run store from the
 * config, then `bumpExperiment(...).pipe(record(store))`. Cold: the run starts on subscribe;
 * unsubscribing stops it (stored as `stopped`); an error is stored as `failed` with its message.
 *
 * @example
 * runExperiment({ steps: 500, dx: 1 }).pipe(filter((e) => e.type === 'phase')).subscribe(console.log);
 */
export function runExperiment(
  partial: Partial<ExperimentConfig> = {},
  opts: RunOptions = {},
): Observable<RunEvent> {
  return defer(async () => {
    const resumeDir = opts.resume;
    const cfg = resumeDir
      ? configFromMeta(readRunMeta(resumeDir).config, resumeDir)
      : resolveConfig(partial);
    const data = gaussianBumps({
      size: cfg.size,
      dx: cfg.dx,
      dy: cfg.dy,
      sigma: cfg.sigma,
      hole: cfg.hole,
    });
    const backend = await selectBackend(cfg.backend);
    const model = unetDdpm({
      size: cfg.size,
      widths: cfg.widths as [number, number, number],
      attention: cfg.attention,
      attentionAt: cfg.attentionAt,
      condHidden: cfg.condHidden,
      posEncoding: cfg.posEncoding,
      T: cfg.timesteps,
      lr: cfg.lr,
      emaDecay: cfg.emaDecay,
      seed: cfg.seed,
    });
    try {
      let store: RunStore;
      let restore: Restore | undefined;
      if (resumeDir) {
        // Everything is read and checked before the run's files change.
        const checkpoint = latestCheckpoint(resumeDir);
        if (checkpoint) await model.load(checkpoint.dir);
        // The step the weights hold decides (a checkpoint of an older version may be misnamed).
        const plan = planResume(resumeDir, model.step);
        restore = {
          hysteresis: plan.hysteresis,
          phase: plan.phase,
          reassess: plan.unassessed.map((e) => storedSnapshot(resumeDir, e)),
          snapshotNow:
            model.step > 0 && model.step % cfg.snapshotEvery === 0 && !plan.snapshotAtStep,
          phaseEvent: plan.phaseEventDue,
        };
        store = RunStore.open(resumeDir, { hub: opts.hub, resumeAt: plan.step });
        store.updateMeta({ backend });
      } else {
        store = RunStore.create({
          runsDir: opts.runsDir ?? 'runs',
          runId: cfg.runId,
          name: opts.name ?? cfg.name,
          tags: opts.tags ?? cfg.tags,
          notes: opts.notes ?? cfg.notes,
          backend,
          config: { ...cfg, model: model.kind, datasetSize: data.count, params: model.paramCount },
          hub: opts.hub,
        });
      }
      return { cfg, data, model, store, restore };
    } catch (err) {
      model.dispose();
      throw err;
    }
  }).pipe(
    switchMap(({ cfg, data, model, store, restore }) =>
      bumpExperiment({
        model,
        data,
        store,
        config: cfg,
        operators: opts.operators,
        stepOperators: opts.stepOperators,
        restore,
      }).pipe(
        record(store, { startStep: model.step, failure: opts.failure }),
        finalize(() => model.dispose()),
      ),
    ),
  );
}

/** The newest complete checkpoint of a run, if any (named by the step it holds). */
function latestCheckpoint(runDir: string): { dir: string; step: number } | undefined {
  const root = join(runDir, 'checkpoints');
  const steps = existsSync(root)
    ? readdirSync(root)
        .map(Number)
        .filter((n) => Number.isInteger(n) && existsSync(join(root, String(n), 'model.json')))
    : [];
  if (!steps.length) return undefined;
  const step = Math.max(...steps);
  return { dir: join(root, String(step)), step };
}

/** A stored snapshot read back from its `.bin`, for assessing it again. */
function storedSnapshot(runDir: string, e: SnapshotEvent): Snapshot {
  const arrays = readSnapshotArrays(join(runDir, e.file));
  return { runId: e.runId, step: e.step, size: e.size, dim: e.dim, ...arrays };
}

/**
 * Saves the model as `checkpoints/<step>` (the step it holds) and keeps the newest two
 * (the one before in case a write is cut).
 */
export async function saveCheckpoint(model: Model, runDir: string): Promise<void> {
  const root = join(runDir, 'checkpoints');
  const step = model.step;
  await model.save(join(root, String(step)));
  const old = readdirSync(root)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n < step)
    .sort((a, b) => b - a)
    .slice(1);
  for (const n of old) rmSync(join(root, String(n)), { recursive: true, force: true });
}

/** A fixed, seeded draw of training labels, the same at every snapshot of a run. */
export function snapshotLabels(data: Dataset, count: number, seed: number): Float32Array {
  const dim = data.labelDim ?? 2;
  const rng = createRng(seed * 7919 + 17);
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    const j = Math.floor(rng.next() * data.count);
    for (let k = 0; k < dim; k++) out[dim * i + k] = data.labels[dim * j + k];
  }
  return out;
}
