import * as tf from '@tensorflow/tfjs';
import type { Observable, Subject } from 'rxjs';
import { assessPhases } from '../../operators/assess-phases.js';
import { metricsFrom } from '../../operators/metrics-from.js';
import { phaseEvents } from '../../operators/phase-events.js';
import { phaseTransitions } from '../../operators/phase-transitions.js';
import { watchPhases } from '../../operators/watch-phases.js';
import { snapshotEvery } from '../../operators/snapshot-every.js';
import type { RunEvent } from '../../streams/events.js';
import { Gate } from '../../streams/gate.js';
import { gaussianBumps } from '../../streams/gaussian-bumps.js';
import { training } from '../../streams/training.js';
import { selectBackend } from '../backend/backend.js';
import type { ExperimentConfig } from './config.js';
import { bumpExperiment, snapshotLabels } from './bump-experiment.js';
import { runExperiment, type RunOptions } from './run-experiment.js';
import { unetDdpm } from '../models/unet-ddpm.js';
import { unetFromConfig } from './unet-from-config.js';
import { record } from '../store/record.js';
import { RunStore } from '../store/run-store.js';

export interface CreateRunOptions {
  /** The run's config as stored in meta.json and shown in the runs table. */
  config: Record<string, unknown>;
  name?: string;
  runId?: string;
  tags?: string[];
  notes?: string;
  /** The backend recorded in meta.json (default: the current tfjs backend's name). */
  backend?: string;
}

/** The building blocks a script composes; also importable from the package root. */
export const blocks = {
  gaussianBumps,
  training,
  snapshotEvery,
  metricsFrom,
  assessPhases,
  phaseTransitions,
  phaseEvents,
  watchPhases,
  unetDdpm,
  unetFromConfig,
  bumpExperiment,
  snapshotLabels,
  record,
  selectBackend,
  Gate,
};

/** What a script given to `phasewatch run file.ts` receives. */
export interface ScriptContext {
  /** The config from the command line (defaults filled in). */
  config: ExperimentConfig;
  /** Where runs are stored; the live server (`--serve`) shows every run created here. */
  runsDir: string;
  /** Every stored event goes here too (the live server listens): pass it to `sweep({ hub })`. */
  hub?: Subject<RunEvent>;
  /**
   * Runs the default experiment with the command-line config overridden by `overrides`;
   * `opts.operators` are the script's own operators on every snapshot (their events are stored).
   */
  run(
    overrides?: Partial<ExperimentConfig>,
    opts?: Pick<RunOptions, 'operators' | 'name' | 'tags' | 'notes'>,
  ): Observable<RunEvent>;
  /** A new run in `runsDir`, published to the live server; pipe events into `record(store)`. */
  createRun(opts: CreateRunOptions): RunStore;
  /** The run store as a sink (see `record`). */
  record: typeof record;
  blocks: typeof blocks;
}

/** A script's default export: config overrides, or a function composing runs and operators. */
export type Script =
  | Partial<ExperimentConfig>
  | ((ctx: ScriptContext) => Observable<unknown> | Promise<unknown> | void);

/** The context the CLI hands a script. */
export function createScriptContext(opts: {
  config: ExperimentConfig;
  runsDir: string;
  hub?: Subject<RunEvent>;
  resume?: string;
  name?: string;
  tags?: string[];
  notes?: string;
}): ScriptContext {
  const { config, runsDir, hub, resume, name, tags, notes } = opts;
  return {
    config,
    runsDir,
    hub,
    run: (overrides = {}, o = {}) =>
      runExperiment({ ...config, ...overrides }, { runsDir, hub, resume, name, tags, notes, ...o }),
    createRun: (o) =>
      RunStore.create({
        runsDir,
        runId: o.runId,
        name: o.name ?? name,
        tags: o.tags ?? tags,
        notes: o.notes ?? notes,
        backend: o.backend ?? tf.getBackend(),
        config: o.config,
        hub,
      }),
    record,
    blocks,
  };
}
