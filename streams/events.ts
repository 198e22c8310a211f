/**
 * The contract of phasewatch, in one file: the event vocabulary every run speaks (on disk
 * and on the wire) and the plug-in points a composition is made of — `Dataset`, `Model`,
 * the `Snapshot` record operators read. Everything here is plain data or an interface;
 * nothing imports the engine. Documented for users in `docs/events.md`.
 */

/**
 * Version of the event format, written to `meta.json` (`eventsVersion`) and carried by every
 * wire message (`v`). v1 (before generic kinds) is read by `upgradeEvents` in `replay.ts`.
 */
export const EVENTS_VERSION = 2;

// ---------------------------------------------------------------------------------------
// Events

/** Fields every stored event carries. `seq` is per run, strictly increasing, assigned by the run store. */
export interface EventBase {
  runId: string;
  seq: number;
  step: number;
  /** Milliseconds since the epoch. */
  time: number;
  /**
   * The number an ingest client gave the event (or snapshot), increasing over its run: a
   * batch sent again after a failure is stored once (`docs/interop.md`). Absent otherwise.
   */
  clientSeq?: number;
}

export type Phase = 'A' | 'B' | 'C';

/** How a run ended; `interrupted` is what a reader concludes when the writer died. */
export type RunStatus = 'running' | 'completed' | 'stopped' | 'failed' | 'interrupted';

/** A run began (or resumed); `meta` is what `meta.json` holds. */
export interface RunStartEvent extends EventBase {
  type: 'run-start';
  meta: RunMeta;
}

/** One optimiser step. */
export interface StepEvent extends EventBase {
  type: 'step';
  loss: number;
  examplesPerSec: number;
}

/** A snapshot was sampled and its big arrays written to `snapshots/<step>.bin`. */
export interface SnapshotEvent extends EventBase {
  type: 'snapshot';
  /** Path relative to the run dir. */
  file: string;
  count: number;
  size: number;
  dim: number;
  /** Milliseconds spent sampling. */
  sampleMs: number;
}

/** A thumbnail of one generated bump image with its conditioning label and detected bump. */
export interface SampleThumb {
  label: [number, number];
  located: { x: number; y: number; count: number };
  /** size*size grey levels 0..255, row-major. */
  pixels: number[];
}

/**
 * The bump experiment's assessment of one snapshot: figures, embedding, the
 * (hysteresis-filtered) phase. Its figures are also emitted as `metric` events
 * (`phase/accuracy`, `phase/r2x`, …) so generic views show them.
 */
export interface AssessmentEvent extends EventBase {
  type: 'assessment';
  accuracy: number;
  bumps: { none: number; one: number; many: number };
  r2: { x: number; y: number; mean: number };
  phase: Phase;
  /** Phase the raw rule gave for this snapshot alone, before hysteresis. */
  rawPhase: Phase;
  evidence: Record<string, number>;
  /**
   * Set when the snapshot is not what the bump rule assumes (`checkBumpInput`): its phase is
   * withheld — it moves no confirmed phase and is drawn in no phase band — and this says why.
   */
  warning?: string;
  /**
   * 'representation' for the generic rule (`assessRepresentation`) on a representation
   * snapshot: then `labels` and `samples` are empty, `size` 0, `accuracy` the fraction of
   * samples the trainer judged ok (0 when it sent none), `r2.mean` the ordering figure and
   * `factors` the values to colour the embedding by. Absent: the bump rule.
   */
  rule?: 'representation';
  /** N values per generative factor (a representation assessment). */
  factors?: Record<string, number[]>;
  /** N*3 embedding coordinates, rounded for the wire. */
  embedding: number[];
  /** N*2 conditioning labels in pixel units. */
  labels: number[];
  size: number;
  samples: SampleThumb[];
}

/** The confirmed phase changed. */
export interface PhaseEvent extends EventBase {
  type: 'phase';
  from: Phase | null;
  to: Phase;
  evidence: Record<string, number>;
}

/** A run ended. */
export interface RunEndEvent extends EventBase {
  type: 'run-end';
  status: Exclude<RunStatus, 'running'>;
  error?: string;
}

/** A scalar. Many per step; a `/` in the name groups charts into panels (`probe/acc`). */
export interface MetricEvent extends EventBase {
  type: 'metric';
  name: string;
  value: number;
  tags?: Record<string, string>;
}

/** A curve measured at one snapshot (e.g. probe accuracy against diffusion timestep). */
export interface CurveEvent extends EventBase {
  type: 'curve';
  name: string;
  x: number[];
  y: number[];
  xLabel?: string;
  yLabel?: string;
}

/** A heatmap: `values` is rows*cols, row-major. */
export interface MatrixEvent extends EventBase {
  type: 'matrix';
  name: string;
  rows: number;
  cols: number;
  values: number[];
  rowLabels?: string[];
  colLabels?: string[];
}

/** Any embedding: `points` is N*3; `colourBy` holds N values per field to colour by. */
export interface EmbeddingEvent extends EventBase {
  type: 'embedding';
  name: string;
  points: number[];
  colourBy: Record<string, number[]>;
}

/** A point drawn over a thumbnail, in pixel units (x = column, y = row). */
export interface ImageMark {
  x: number;
  y: number;
  /** What the mark is: 'label' (where it should be) or 'found' (where it is), free otherwise. */
  kind?: string;
}

export interface ImageThumb {
  /** size*size grey levels 0..255, row-major. */
  pixels: number[];
  caption?: string;
  marks?: ImageMark[];
}

/** A grid of sample images. */
export interface ImagesEvent extends EventBase {
  type: 'images';
  name: string;
  size: number;
  thumbs: ImageThumb[];
}

/** Something a user should see now: a banner in the dashboard, a line on stderr. */
export interface AlertEvent extends EventBase {
  type: 'alert';
  level: 'info' | 'warning' | 'error';
  message: string;
}

export type RunEvent =
  | RunStartEvent
  | StepEvent
  | SnapshotEvent
  | AssessmentEvent
  | PhaseEvent
  | RunEndEvent
  | MetricEvent
  | CurveEvent
  | MatrixEvent
  | EmbeddingEvent
  | ImagesEvent
  | AlertEvent;

export type RunEventType = RunEvent['type'];

/**
 * The figures of a bump assessment by metric name (`phase/accuracy`, `phase/r2x`, …,
 * `evidence/<name>`): what the default composition emits as `metric` events, and what a reader
 * of a v1 run (which has no metric events) derives from its assessment events.
 */
export function assessmentFigures(
  a: Pick<AssessmentEvent, 'accuracy' | 'r2' | 'bumps' | 'evidence' | 'rule'>,
): Record<string, number> {
  const figures: Record<string, number> =
    a.rule === 'representation'
      ? { 'phase/ordering': a.r2.mean }
      : {
          'phase/accuracy': a.accuracy,
          'phase/r2x': a.r2.x,
          'phase/r2y': a.r2.y,
          'phase/r2': a.r2.mean,
          'phase/one-bump': a.bumps.one,
          'phase/no-bump': a.bumps.none,
          'phase/many-bumps': a.bumps.many,
        };
  for (const [k, v] of Object.entries(a.evidence)) figures[`evidence/${k}`] = v;
  for (const [k, v] of Object.entries(figures)) if (!Number.isFinite(v)) delete figures[k];
  return figures;
}

/** The generic kinds any operator may emit; the dashboard draws them by kind and name. */
export const GENERIC_KINDS = ['metric', 'curve', 'matrix', 'embedding', 'images', 'alert'] as const;

type Distribute<E> = E extends RunEvent ? Omit<E, 'seq'> : never;
/** An event before the run store has stamped it with its `seq`. */
export type UnsequencedEvent = Distribute<RunEvent>;

type Input<E> = E extends RunEvent
  ? Omit<E, 'seq' | 'runId' | 'time'> & { runId?: string; time?: number }
  : never;
/**
 * What an operator emits: an event without `seq`, and optionally without `runId` and
 * `time` (`record()` fills them in). E.g. `{ type: 'metric', name: 'probe/acc', value, step }`.
 */
export type EventInput = Input<RunEvent>;

/** What `runs/<runId>/meta.json` holds. */
export interface RunMeta {
  runId: string;
  /** Format of `events.jsonl` (absent in v1 runs). */
  eventsVersion?: number;
  name?: string;
  tags?: string[];
  notes?: string;
  createdAt: string;
  backend: string;
  config: Record<string, unknown>;
  status: RunStatus;
  error?: string;
  /** PID of the process writing the run while `status` is `running`. */
  pid?: number;
  phase?: Phase;
  lastStep?: number;
}

// ---------------------------------------------------------------------------------------
// Plug-in points

export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * A labelled example set. `image(i)` returns example i as `shape` values (default
 * `[size, size]`, grey images in [-1, 1]; a vector dataset says `[d]`). `labels` holds the
 * `labelDim` conditioning values of each example (default 2: the bump's x and y in pixels);
 * `fields` names every ground-truth label an operator may probe or colour by.
 */
export interface Dataset {
  size: number;
  count: number;
  labels: Float32Array;
  image(i: number): Float32Array;
  /** Shape of one example; default `[size, size]`. */
  shape?: number[];
  /** Conditioning values per example; default 2. */
  labelDim?: number;
  /** Named ground-truth fields, `count` values each (e.g. `{ x, y }`, `{ class }`). */
  fields?: Record<string, Float32Array>;
}

/** One training batch drawn from a `Dataset`. */
export interface Batch {
  /** batch * (values of one example). */
  images: Float32Array;
  /** batch * labelDim conditioning values. */
  labels: Float32Array;
  batch: number;
}

/** An internal representation: `data` is N*dim, row-major. */
export interface Activation {
  data: Float32Array;
  dim: number;
}

export interface ModelSampleOptions {
  seed: number;
  /** Sampler steps (DDIM steps for a diffusion model). */
  steps?: number;
}

/** What a model's `sample` returns. */
export interface ModelSample {
  /** N * (values of one example). */
  images: Float32Array;
  /** Named activations of the N samples (e.g. `{ layer4: { data, dim } }`). */
  activations: Record<string, Activation>;
}

/** What sampling needs, frozen at one step; `Model.freeze()` returns one. */
export interface Sampler {
  readonly step: number;
  /** `conditions` is N*labelDim. */
  sample(conditions: Float32Array, opts: ModelSampleOptions): Promise<ModelSample>;
  /**
   * Optional, for probes: named activations of the network on given examples at diffusion
   * timestep `t` — noised to t (`noisy`, the default) or clean with only the timestep
   * input set to t. `conditions` as for `sample` (omit for an unconditional model).
   */
  features?(
    examples: Float32Array,
    t: number,
    opts: FeatureOptions,
  ): Promise<Record<string, Activation>>;
  dispose(): void;
}

export interface FeatureOptions {
  seed: number;
  noisy?: boolean;
  conditions?: Float32Array;
}

/**
 * What `training` and snapshots need of a model. The UNet DDPM is one (`unetDdpm`); a user
 * may wrap a tfjs model of their own.
 */
export interface Model extends Sampler {
  /** A short name of the architecture, stored in the run's config. */
  readonly kind: string;
  readonly paramCount: number;
  /** Optimiser steps taken (restored by `load`). */
  readonly step: number;
  /** One optimiser step; returns the loss. */
  trainStep(batch: Batch): number | Promise<number>;
  /**
   * A sampler holding a copy of the (EMA) weights as they are now, so a snapshot due at this
   * step is sampled from exactly this step's model while training goes on.
   */
  freeze(): Sampler;
  save(dir: string): Promise<void>;
  load(dir: string): Promise<void>;
}

/** One named generative factor of a representation snapshot: a value per sample. */
export interface Factor {
  /** N values; class indices 0..K-1 when `categorical`. */
  values: Float32Array;
  /** A label (class) rather than a continuous quantity (default false). */
  categorical?: boolean;
}

/**
 * The snapshot record operators work on. A bump snapshot has images and (x, y) labels; a
 * representation snapshot (any model, any data) has `factors` instead: then `size` is 0,
 * `labels` and `images` are empty (or hold thumbnails) and `activations` are N*dim of whichever
 * layer the trainer chose. `snapshotSamples` gives N for either.
 */
export interface Snapshot {
  runId: string;
  step: number;
  /** Image side in pixels (for a vector dataset, its length). */
  size: number;
  /** N*labelDim conditioning values (bumps: N*2, x and y in pixels). */
  labels: Float32Array;
  /** N generated examples. */
  images: Float32Array;
  /** The representation phase detection embeds (bumps: the UNet's layer 4), N*dim. */
  activations: Float32Array;
  dim: number;
  /** Every named activation the model returned. */
  layers?: Record<string, Activation>;
  /** Milliseconds spent sampling. */
  sampleMs?: number;
  /** Named generative factors of the N samples: makes this a representation snapshot. */
  factors?: Record<string, Factor>;
  /** N per-sample verdicts on the generated samples, 1 ok and 0 not (or a score in [0, 1]). */
  samplesOk?: Float32Array;
  /**
   * Activations of the same N samples at several diffusion timesteps (or noise levels), for
   * seed 002's noise-level probes: each factor is probed at each `t` (a representation snapshot).
   */
  noiseLevels?: NoiseLevel[];
}

/** The N samples' activations at one diffusion timestep `t` (N*dim, row-major). */
export interface NoiseLevel {
  t: number;
  activations: Float32Array;
  dim: number;
}

/**
 * Samples (N) of a snapshot: rows of the activations for a representation snapshot, label
 * pairs for a bump one.
 * @example snapshotSamples({ ...snap, factors: { angle } }); // activations.length / dim
 */
export function snapshotSamples(s: Snapshot): number {
  return s.factors
    ? s.dim > 0
      ? Math.floor(s.activations.length / s.dim)
      : 0
    : s.labels.length / 2;
}

export interface Assessment {
  step: number;
  accuracy: number;
  bumps: { none: number; one: number; many: number };
  r2: { x: number; y: number; mean: number };
  embedding: Float32Array;
  phase: Phase;
  evidence: Record<string, number>;
  /**
   * Set when the snapshot is not what the bump rule assumes (`checkBumpInput`, one line):
   * `phase` is then the rule's verdict on figures that do not mean what it reads, withheld
   * from the confirmed phase (`phaseHysteresis`, `phaseTransitions` pass over it).
   */
  warning?: string;
  /** 'representation' for `assessRepresentation` (see `AssessmentEvent.rule`). */
  rule?: 'representation';
}
