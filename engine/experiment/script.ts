import * as tf from '@tensorflow/tfjs';
import type { Observable, Subject } from 'rxjs';
import { assessPhases } from '../../operators/assess-phases.js';
import { emaMetric } from '../../operators/ema-metric.js';
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
import { checkConfig, type ExperimentConfig } from './config.js';
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
  emaMetric,
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
   * `opts.operators` are the script's own operators on every snapshot, `opts.stepOperators` on
   * every step event (e.g. `emaMetric('train/loss-ema')`); what they emit is stored.
   */
  run(
    overrides?: Partial<ExperimentConfig>,
    opts?: Pick<RunOptions, 'operators' | 'stepOperators' | 'name' | 'tags' | 'notes'>,
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

/** What `createScriptContext` needs: the CLI passes its command line here, a test or a program its own. */
export interface ScriptContextOptions {
  /** The settings in force (defaults filled in): `ctx.config`, and what `run()` starts from. */
  config: ExperimentConfig;
  runsDir: string;
  hub?: Subject<RunEvent>;
  /** A stored run to continue: `run()` then keeps its stored config (overrides are ignored). */
  resume?: string;
  /**
   * Settings that win over a script's own `run({ … })` overrides: the flags given on the
   * command line. With them, `run(overrides)` is `checkConfig({ ...overrides, ...explicit })`
   * (the defaults under both); without them, `{ ...config, ...overrides }`.
   */
  explicit?: Partial<ExperimentConfig>;
  /** Defaults for the runs' labels; `explicit` and `run()`'s own `{ name, tags, notes }` win. */
  name?: string;
  tags?: string[];
  notes?: string;
  /**
   * What ends a run of this context `failed` rather than `stopped` when it is unsubscribed (see
   * `RecordOptions.failure`): the CLI returns the error of the stream the script returned, so a
   * `tap` that throws downstream of `run()` or `record` fails the run with its error.
   */
  failure?: () => unknown;
  /**
   * Aborting it ends every run of this context still going, as an unsubscribe does (see
   * `RecordOptions.signal`): the CLI aborts when the script's promise or stream fails.
   */
  signal?: AbortSignal;
}

/**
 * The context a script receives: the one `phasewatch run script.ts` hands it, and the one a
 * program or a test builds to run a script itself. Whatever `run()` is given — settings, and
 * `{ operators, stepOperators, name, tags, notes }` — reaches `runExperiment`.
 */
export function createScriptContext(opts: ScriptContextOptions): ScriptContext {
  const { config, runsDir, hub, resume, explicit, failure, signal } = opts;
  const labels = (cfg: Partial<ExperimentConfig>, o: Labels) => ({
    name: explicit?.name ?? o.name ?? cfg.name ?? opts.name,
    tags: explicit?.tags ?? o.tags ?? cfg.tags ?? opts.tags,
    notes: explicit?.notes ?? o.notes ?? cfg.notes ?? opts.notes,
  });
  return {
    config,
    runsDir,
    hub,
    run: (overrides = {}, o = {}) => {
      const cfg =
        resume !== undefined
          ? config
          : explicit !== undefined
            ? checkConfig({ ...overrides, ...explicit })
            : { ...config, ...overrides };
      return runExperiment(cfg, {
        ...o,
        runsDir,
        hub,
        resume,
        failure,
        signal,
        ...labels(cfg, o),
      });
    },
    createRun: (o) =>
      RunStore.create({
        runsDir,
        runId: o.runId,
        ...labels({}, o),
        backend: o.backend ?? tf.getBackend(),
        config: o.config,
        hub,
      }),
    record: (store, o) => record(store, { failure, signal, ...o }),
    blocks,
  };
}

type Labels = Pick<RunOptions, 'name' | 'tags' | 'notes'>;
