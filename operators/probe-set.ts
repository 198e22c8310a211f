import { concatMap, defer, finalize, from, map, mergeAll } from 'rxjs';
import type { ObservableInput, OperatorFunction } from 'rxjs';
import type { Activation, Dataset, EventInput, Sampler, Snapshot } from '../streams/events.js';
import { gatherRows, splitTrainTest } from './metrics/linear-probe.js';

/**
 * What every probing operator (`timestepProbes`, `softVote`, `csnr`, `trajectoryProbe`,
 * `timestepMI`) is given: the model to read features from and the labelled examples to probe.
 */
export interface ProbeSetOptions {
  /**
   * The model: a `Model` (frozen with `freeze()` the moment a snapshot arrives, so the probe
   * reads the weights of that moment while training goes on) or a `Sampler` with `features`.
   */
  model: Sampler & { freeze?: () => Sampler };
  /** Labelled examples to probe (held out from training is best). */
  probe: Dataset;
  /** Ground-truth field of `probe.fields` to classify (default 'class'). */
  field?: string;
  /** Integer classes per probe example; overrides `field` (e.g. a bump's quadrant). */
  targets?: ArrayLike<number>;
  /** Examples used, the first `count` of the probe set (default 600). */
  count?: number;
  /** Fraction of them the probes are tested on (default 0.3). */
  testFraction?: number;
  /** Activation to probe (default 'layer2'). */
  layer?: string;
  /** Feed the clean examples with only the timestep set ('clean', default) or noise them to t. */
  input?: 'clean' | 'noisy';
  /** Seeds the split and the noise (default 0). */
  seed?: number;
}

/** A resolved probe set: examples, integer classes and a train/test split. */
export interface ProbeSet {
  examples: Float32Array;
  /** Length of one example. */
  width: number;
  classes: Int32Array;
  K: number;
  train: Int32Array;
  test: Int32Array;
  layer: string;
  noisy: boolean;
  seed: number;
  /** The option object's model (the cache key) . */
  model: ProbeSetOptions['model'];
}

/**
 * Validates the shared options of a probing operator and draws its examples and split;
 * throws a one-line error naming the bad field (prefixed with the operator's name).
 */
export function resolveProbeSet(opts: ProbeSetOptions, op: string): ProbeSet {
  if (!opts || typeof opts !== 'object') throw new Error(`${op} options must be an object`);
  const { model, probe } = opts;
  if (!model || typeof model.features !== 'function') {
    throw new Error(
      `${op} model must have a features() method (got ${model ? 'a model without it' : String(model)})`,
    );
  }
  if (!probe || typeof probe.image !== 'function' || !(probe.count > 0)) {
    throw new Error(
      `${op} probe must be a non-empty Dataset (got ${probe ? `count ${probe.count}` : String(probe)})`,
    );
  }
  const count = Math.min(opts.count ?? 600, probe.count);
  if (!Number.isInteger(count) || count < 4) {
    throw new Error(`${op} count must be an integer >= 4 (got ${String(opts.count)})`);
  }
  const testFraction = opts.testFraction ?? 0.3;
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new Error(`${op} testFraction must be in (0, 1) (got ${String(testFraction)})`);
  }
  const input = opts.input ?? 'clean';
  if (input !== 'clean' && input !== 'noisy') {
    throw new Error(`${op} input must be one of clean, noisy (got "${String(input)}")`);
  }
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed))
    throw new Error(`${op} seed must be an integer (got ${String(seed)})`);
  const layer = opts.layer ?? 'layer2';
  if (typeof layer !== 'string' || layer === '') {
    throw new Error(`${op} layer must be a non-empty activation name (got ${String(layer)})`);
  }
  let source: ArrayLike<number>;
  if (opts.targets !== undefined) {
    source = opts.targets;
    if (source.length < count) {
      throw new Error(
        `${op} targets must hold one class per probe example, >= ${count} (got ${source.length})`,
      );
    }
  } else {
    const field = opts.field ?? 'class';
    const values = probe.fields?.[field];
    if (!values) {
      const have = Object.keys(probe.fields ?? {}).join(', ') || 'none';
      throw new Error(`${op} field "${field}" is not a field of the probe set (has: ${have})`);
    }
    source = values;
  }
  const classes = new Int32Array(count);
  let K = 0;
  for (let i = 0; i < count; i++) {
    const y = source[i];
    if (!Number.isInteger(y) || y < 0) {
      throw new Error(`${op} targets must be non-negative integer classes (got ${y} at ${i})`);
    }
    classes[i] = y;
    K = Math.max(K, y + 1);
  }
  if (K < 2) throw new Error(`${op} probe set needs >= 2 classes (got ${K})`);
  const examples = probeExamples(probe, count);
  const { train, test } = splitTrainTest(count, testFraction, seed);
  return {
    examples,
    width: examples.length / count,
    classes,
    K,
    train,
    test,
    layer,
    noisy: input === 'noisy',
    seed,
    model,
  };
}

const exampleCache = new WeakMap<Dataset, Map<number, Float32Array>>();

/** The first `count` examples of a dataset, concatenated (cached per dataset). */
function probeExamples(probe: Dataset, count: number): Float32Array {
  let byCount = exampleCache.get(probe);
  if (!byCount) exampleCache.set(probe, (byCount = new Map<number, Float32Array>()));
  const hit = byCount.get(count);
  if (hit) return hit;
  const first = probe.image(0);
  const out = new Float32Array(count * first.length);
  out.set(first, 0);
  for (let i = 1; i < count; i++) out.set(probe.image(i), i * first.length);
  byCount.set(count, out);
  return out;
}

type FeatureMap = Map<string, Promise<Record<string, Activation>>>;
// Snapshot → model → examples → "t|noisy|seed": one features() call per key, shared by every
// operator reading the same snapshot (pipe the snapshots through `share()`).
const featureCache = new WeakMap<Snapshot, WeakMap<object, WeakMap<Float32Array, FeatureMap>>>();

/**
 * The probe set's activation `set.layer` at timestep t for this snapshot, read through
 * `sampler`; cached per snapshot so several operators share one forward pass.
 */
export async function featuresAt(
  snapshot: Snapshot,
  sampler: Sampler,
  set: ProbeSet,
  t: number,
): Promise<Activation> {
  let byModel = featureCache.get(snapshot);
  if (!byModel) featureCache.set(snapshot, (byModel = new WeakMap()));
  let byExamples = byModel.get(set.model);
  if (!byExamples) byModel.set(set.model, (byExamples = new WeakMap()));
  let map = byExamples.get(set.examples);
  if (!map)
    byExamples.set(set.examples, (map = new Map<string, Promise<Record<string, Activation>>>()));
  const key = `${t}|${set.noisy}|${set.seed}`;
  let pending = map.get(key);
  if (!pending) {
    // Independent noise per timestep, reproducible from the seed.
    const seed = (set.seed * 7919 + t * 104729 + 1) >>> 0;
    pending = sampler.features!(set.examples, t, { seed, noisy: set.noisy });
    map.set(key, pending);
    pending.catch(() => map.delete(key));
  }
  const all = await pending;
  const act = all[set.layer];
  if (!act) {
    throw new Error(
      `layer "${set.layer}" is not an activation of the model (has: ${Object.keys(all).join(', ')})`,
    );
  }
  return act;
}

/** Train and test rows of an activation, by the set's split. */
export function splitRows(
  act: Activation,
  set: ProbeSet,
): { train: Float32Array; test: Float32Array } {
  return {
    train: gatherRows(act.data, act.dim, set.train),
    test: gatherRows(act.data, act.dim, set.test),
  };
}

/** Classes of the given rows. */
export function classesOf(set: ProbeSet, rows: Int32Array): Int32Array {
  return Int32Array.from(rows, (i) => set.classes[i]);
}

/**
 * The plumbing every probing operator shares: each snapshot, in order and none dropped
 * (concatMap), gets a sampler frozen on arrival — `model.freeze()` if the model has one, else
 * the model itself — and `work` turns them into events; frozen samplers are disposed when
 * their work ends, and any still queued when the subscription ends.
 *
 * ```
 * snapshots: --a-b-----------|      work takes 4 frames and yields [x, y]
 * result:    ------(xy)(zw)--|      b waits for a's work, then runs (frames 6–10)
 * ```
 */
export function perSnapshot(
  model: ProbeSetOptions['model'],
  work: (s: Snapshot, sampler: Sampler) => ObservableInput<EventInput[]>,
): OperatorFunction<Snapshot, EventInput> {
  return (source) =>
    defer(() => {
      const held = new Set<Sampler>();
      const release = (s: Sampler): void => {
        if (s !== model && held.delete(s)) s.dispose();
      };
      return source.pipe(
        map((s) => {
          const sampler = typeof model.freeze === 'function' ? model.freeze() : model;
          if (sampler !== model) held.add(sampler);
          return { s, sampler };
        }),
        concatMap(({ s, sampler }) =>
          from(work(s, sampler)).pipe(
            mergeAll(),
            finalize(() => release(sampler)),
          ),
        ),
        finalize(() => {
          for (const s of held) s.dispose();
          held.clear();
        }),
      );
    });
}

/** T of the model's noise schedule, when it exposes one (`model.schedule.T` or `config.T`). */
export function modelT(model: object): number | undefined {
  const m = model as { schedule?: { T?: unknown }; config?: { T?: unknown } };
  const T = m.schedule?.T ?? m.config?.T;
  return typeof T === 'number' ? T : undefined;
}

/** The timesteps the probe operators read by default, from clean images to mostly noise. */
export const DEFAULT_PROBE_TIMESTEPS: readonly number[] = [0, 5, 10, 20, 40, 60, 80];

/**
 * An operator's `timesteps` option (else `fallback`) checked against its model's T with
 * `checkTimesteps`; sorted.
 */
export function timestepsOption(
  opts: { timesteps?: number[]; model: object },
  op: string,
  fallback = DEFAULT_PROBE_TIMESTEPS,
): number[] {
  return checkTimesteps(opts.timesteps ?? [...fallback], op, modelT(opts.model));
}

/** Checks a list of timesteps: non-empty, distinct non-negative integers; returns them sorted. */
export function checkTimesteps(ts: unknown, op: string, max?: number): number[] {
  if (!Array.isArray(ts) || ts.length === 0) {
    throw new Error(
      `${op} timesteps must be a non-empty array of integers (got ${JSON.stringify(ts)})`,
    );
  }
  for (const t of ts) {
    if (!Number.isInteger(t) || t < 0 || (max !== undefined && t >= max)) {
      throw new Error(
        `${op} timesteps must be integers in [0, ${max === undefined ? '∞' : max - 1}] (got ${String(t)})`,
      );
    }
  }
  const sorted = [...new Set(ts as number[])].sort((a, b) => a - b);
  if (sorted.length !== ts.length) {
    throw new Error(`${op} timesteps must be distinct (got ${JSON.stringify(ts)})`);
  }
  return sorted;
}
