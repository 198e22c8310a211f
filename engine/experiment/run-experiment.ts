import {
  defer,
  finalize,
  switchMap,
  type Observable,
  type OperatorFunction,
  type Subject,
} from 'rxjs';
import type { EventInput, RunEvent, Snapshot } from '../../streams/events.js';
import { gaussianBumps } from '../../streams/gaussian-bumps.js';
import type { StepInput } from '../../streams/training.js';
import { selectBackend } from '../backend/backend.js';
import { record } from '../store/record.js';
import { readRunMeta, RunStore } from '../store/run-store.js';
import { bumpExperiment } from './bump-experiment.js';
import { configFromMeta, resolveConfig, type ExperimentConfig } from './config.js';
import { restoreRun, type Restore } from './resume.js';
import { unetFromConfig } from './unet-from-config.js';

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
  /** See `RecordOptions.signal`: aborting it ends the run as an unsubscribe does. */
  signal?: AbortSignal;
}

/**
 * Runs the default experiment: builds the dataset, the UNet DDPM and the run store from the
 * config (or, with `resume`, reopens a stored run from its newest checkpoint), then
 * `bumpExperiment(...).pipe(record(store))`. Cold: the run starts on subscribe; unsubscribing
 * stops it (stored as `stopped`); an error is stored as `failed` with its message.
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
      margin: cfg.labelMargin,
    });
    const backend = await selectBackend(cfg.backend);
    const model = unetFromConfig(cfg);
    try {
      let store: RunStore;
      let restore: Restore | undefined;
      if (resumeDir) {
        const resumed = await restoreRun(resumeDir, model, cfg.snapshotEvery);
        restore = resumed.restore;
        store = RunStore.open(resumeDir, { hub: opts.hub, resumeAt: resumed.resumeAt });
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
        record(store, { startStep: model.step, failure: opts.failure, signal: opts.signal }),
        finalize(() => model.dispose()),
      ),
    ),
  );
}
