import { concat, concatMap, defer, from, map, merge, of, share } from 'rxjs';
import type { Observable, OperatorFunction } from 'rxjs';
import { snapshotEvery } from '../../operators/snapshot-every.js';
import { watchPhases } from '../../operators/watch-phases.js';
import type { Dataset, EventInput, Model, Snapshot } from '../../streams/events.js';
import { Gate } from '../../streams/gate.js';
import { createRng } from '../../streams/random.js';
import { training, type StepInput } from '../../streams/training.js';
import { UNET_LAYER } from '../models/unet-ddpm.js';
import type { RunStore } from '../store/run-store.js';
import { checkpointEvery } from './checkpoints.js';
import type { ExperimentConfig } from './config.js';
import type { Restore } from './resume.js';

export type { Restore } from './resume.js';

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
  /** What a resumed run continues from (see `restoreRun`). */
  restore?: Restore;
}

/**
 * The seed-004 experiment as one composition of public parts: `training` of the model on the
 * dataset, `snapshotEvery` (never dropping one; training waits while `queue` snapshots are
 * sampling), the snapshot arrays and a checkpoint stored at each snapshot step, and
 * `watchPhases` (assessment, its figures as `metric` events, `phase` events). Pipe it into
 * `record(store)`.
 *
 * @example
 * bumpExperiment({ model, data, store, config }).pipe(record(store)).subscribe();
 */
export function bumpExperiment(opts: BumpExperimentOptions): Observable<EventInput> {
  const { model, data, store, config: cfg, restore } = opts;
  return defer(() => {
    const gate = new Gate(opts.queue ?? 2);
    const start = model.step;
    const steps$ = training(model, data, {
      steps: Math.max(0, cfg.steps - start),
      startStep: start,
      batchSize: cfg.batchSize,
      seed: cfg.seed,
      gate,
    }).pipe(share());
    const checkpoints = checkpointEvery(cfg.snapshotEvery, model, store.dir, gate);
    // A resumed run whose snapshot at the checkpoint step was lost takes it first, from the
    // loaded weights of exactly that step (no step event is recorded for it).
    const due$ = restore?.snapshotNow
      ? concat(of({ type: 'step' as const, step: start, loss: 0, examplesPerSec: 0 }), steps$)
      : steps$;
    const stored$ = due$.pipe(
      snapshotEvery(cfg.snapshotEvery, model, {
        conditions: snapshotLabels(data, cfg.samples, cfg.seed),
        size: cfg.size,
        seed: cfg.seed,
        sampleSteps: cfg.ddimSteps,
        layer: UNET_LAYER,
        gate,
      }),
      map((s) => ({ ...s, runId: store.runId })),
      // the snapshot event is stored once the checkpoint of its step is on disk
      concatMap(async (s) => {
        await checkpoints.saved(s.step);
        return { s, event: snapshotEvent(store, s) };
      }),
      share(),
    );
    const snapshots$ = stored$.pipe(map(({ s }) => s));
    return merge(
      ...(opts.operators ?? []).map((op) => snapshots$.pipe(op)),
      ...(opts.stepOperators ?? []).map((op) => steps$.pipe(op)),
      steps$,
      steps$.pipe(checkpoints.save),
      stored$.pipe(map(({ event }) => event)),
      concat(from(restore?.reassess ?? []), snapshots$).pipe(
        watchPhases({ confirm: cfg.confirm, seed: cfg.seed, embed: cfg.embed, initial: restore }),
      ),
    );
  });
}

/** Writes a snapshot's arrays to the run store; the `snapshot` event that records them. */
function snapshotEvent(store: RunStore, s: Snapshot): EventInput {
  return {
    type: 'snapshot',
    step: s.step,
    file: store.writeSnapshot(s.step, s),
    count: s.labels.length / 2,
    size: s.size,
    dim: s.dim,
    sampleMs: s.sampleMs ?? 0,
  };
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
