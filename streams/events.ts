/**
 * The one event union of phasewatch. Every event a run produces is one of these plain,
 * JSON-serialisable objects; the run store appends them to `events.jsonl` and the live
 * server sends exactly these over the wire (`{ v: 1, type: 'event', event }`).
 */

/** Fields every event carries. `seq` is per run, strictly increasing, assigned by the run store. */
export interface EventBase {
  runId: string;
  seq: number;
  step: number;
  /** Milliseconds since the epoch. */
  time: number;
}

export type Phase = 'A' | 'B' | 'C';

/** A run began; `meta` is what `meta.json` holds. */
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

/** A thumbnail of one generated image with its conditioning label and detected bump. */
export interface SampleThumb {
  label: [number, number];
  located: { x: number; y: number; count: number };
  /** size*size grey levels 0..255, row-major. */
  pixels: number[];
}

/** The assessment of one snapshot: metrics, embedding, and the (hysteresis-filtered) phase. */
export interface AssessmentEvent extends EventBase {
  type: 'assessment';
  accuracy: number;
  bumps: { none: number; one: number; many: number };
  r2: { x: number; y: number; mean: number };
  phase: Phase;
  /** Phase the raw rule gave for this snapshot alone, before hysteresis. */
  rawPhase: Phase;
  evidence: Record<string, number>;
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
  status: 'completed' | 'stopped' | 'failed';
  error?: string;
}

export type RunEvent =
  | RunStartEvent
  | StepEvent
  | SnapshotEvent
  | AssessmentEvent
  | PhaseEvent
  | RunEndEvent;

export type RunEventType = RunEvent['type'];

/** An event before the run store has stamped it with its `seq`. */
export type UnsequencedEvent = RunEvent extends infer E
  ? E extends RunEvent
    ? Omit<E, 'seq'>
    : never
  : never;

/** What `runs/<runId>/meta.json` holds. */
export interface RunMeta {
  runId: string;
  createdAt: string;
  backend: string;
  config: Record<string, unknown>;
  status: 'running' | 'completed' | 'stopped' | 'failed';
  phase?: Phase;
  lastStep?: number;
}
