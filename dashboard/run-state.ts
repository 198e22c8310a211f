import { PROTOCOL_VERSION, type RunSummary, type ServerMessage } from '../streams/protocol.js';
import type {
  AlertEvent,
  AssessmentEvent,
  CurveEvent,
  ImageThumb,
  MatrixEvent,
  Phase,
  PhaseEvent,
  RunEndEvent,
  RunEvent,
  RunMeta,
} from '../streams/events.js';

/** One scalar's history in a run, sorted by step. */
export interface MetricSeries {
  steps: number[];
  values: number[];
}

/** One embedding of a run at one step (an `embedding` event, or a bump assessment's). */
export interface EmbeddingSnap {
  runId: string;
  seq: number;
  name: string;
  step: number;
  /** N*3 coordinates. */
  points: number[];
  /** N values per field to colour by. */
  colourBy: Record<string, number[]>;
  /** Set when the embedding came from a bump assessment. */
  phase?: Phase;
  r2?: number;
}

/** One grid of images of a run at one step (an `images` event, or an assessment's samples). */
export interface ImagesSnap {
  runId: string;
  seq: number;
  name: string;
  step: number;
  size: number;
  thumbs: ImageThumb[];
}

/** Everything the dashboard has received of one run, in columns the charts read directly. */
export interface RunSeries {
  runId: string;
  /** The run's name, from its run-start or the catalogue. */
  name?: string;
  /** Format version of the run's events (from its run-start); absent for v1 runs. */
  eventsVersion?: number;
  /** Highest `seq` applied: where a reconnect resumes (`sinceSeq`). */
  lastSeq: number;
  steps: number[];
  loss: number[];
  /** `time` of the newest step event (for latency figures). */
  lastStepTime: number;
  lastStep: number;
  assessments: AssessmentEvent[];
  phases: PhaseEvent[];
  /** `metric` events by name, plus, for v1 runs, the figures of each assessment. */
  metrics: Map<string, MetricSeries>;
  /** Names in `metrics` that were derived from assessments (a real metric replaces them). */
  derived: Set<string>;
  curves: Map<string, CurveEvent[]>;
  matrices: Map<string, MatrixEvent[]>;
  embeddings: Map<string, EmbeddingSnap[]>;
  images: Map<string, ImagesSnap[]>;
  alerts: AlertEvent[];
  end?: RunEndEvent;
  /** Step events the server dropped because this client fell behind. */
  dropped: number;
  /** True once the stored events have been replayed. */
  replayed: boolean;
}

export interface DashboardState {
  runs: RunMeta[];
  /** What each run came to, by run id, as the server last summarised it (see `RunSummary`). */
  summaries: Map<string, RunSummary>;
  series: Map<string, RunSeries>;
  /** Events that arrived twice (seq not above lastSeq) and were ignored; should stay 0. */
  duplicates: number;
  /** The server's latest error message, if any. */
  lastError: string | null;
  /** Bumped on every change, so views know to redraw. */
  revision: number;
}

/**
 * Names under which a bump assessment shows in the generic views; the metric names are those
 * the default experiment logs (engine/experiment/bump-experiment.ts), so v1 and v2 runs chart alike.
 */
export const ASSESSMENT_NAMES = {
  embedding: 'phase/embedding',
  samples: 'phase/samples',
  accuracy: 'phase/accuracy',
  r2x: 'phase/r2x',
  r2y: 'phase/r2y',
  r2: 'phase/r2',
  oneBump: 'phase/one-bump',
  noBump: 'phase/no-bump',
  manyBumps: 'phase/many-bumps',
} as const;

export function createState(): DashboardState {
  return {
    runs: [],
    summaries: new Map(),
    series: new Map(),
    duplicates: 0,
    lastError: null,
    revision: 0,
  };
}

export function seriesOf(state: DashboardState, runId: string): RunSeries {
  let s = state.series.get(runId);
  if (!s) {
    s = {
      runId,
      name: state.runs.find((r) => r.runId === runId)?.name,
      lastSeq: 0,
      steps: [],
      loss: [],
      lastStepTime: 0,
      lastStep: 0,
      assessments: [],
      phases: [],
      metrics: new Map(),
      derived: new Set(),
      curves: new Map(),
      matrices: new Map(),
      embeddings: new Map(),
      images: new Map(),
      alerts: [],
      dropped: 0,
      replayed: false,
    };
    state.series.set(runId, s);
  }
  return s;
}

/** What a run is shown as: its name, else its id. */
export function seriesTitle(s: Pick<RunSeries, 'runId' | 'name'>): string {
  return s.name?.trim() || s.runId;
}

function pushTo<T>(map: Map<string, T[]>, name: string, item: T): void {
  const list = map.get(name);
  if (list) list.push(item);
  else map.set(name, [item]);
}

/** Appends a point, keeping the series sorted by step (metrics may arrive out of step order). */
export function addPoint(m: MetricSeries, step: number, value: number): void {
  let at = m.steps.length;
  while (at > 0 && m.steps[at - 1] > step) at--;
  if (at === m.steps.length) {
    m.steps.push(step);
    m.values.push(value);
  } else {
    m.steps.splice(at, 0, step);
    m.values.splice(at, 0, value);
  }
}

function addMetric(s: RunSeries, name: string, step: number, value: number, derived: boolean) {
  if (derived && s.metrics.has(name) && !s.derived.has(name)) return;
  if (!derived && s.derived.has(name)) {
    // The run logs this figure itself: its own values replace the derived ones.
    s.derived.delete(name);
    s.metrics.delete(name);
  }
  let m = s.metrics.get(name);
  if (!m) {
    s.metrics.set(name, (m = { steps: [], values: [] }));
    if (derived) s.derived.add(name);
  }
  addPoint(m, step, value);
}

/** A bump assessment as the generic views see it: an embedding, a sample grid and figures. */
function applyAssessment(s: RunSeries, e: AssessmentEvent): void {
  s.assessments.push(e);
  const n = Math.floor(e.embedding.length / 3);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    x.push(e.labels[2 * i]);
    y.push(e.labels[2 * i + 1]);
  }
  pushTo(s.embeddings, ASSESSMENT_NAMES.embedding, {
    runId: e.runId,
    seq: e.seq,
    name: ASSESSMENT_NAMES.embedding,
    step: e.step,
    points: e.embedding,
    colourBy: e.factors ?? { x, y },
    phase: e.phase,
    r2: e.r2.mean,
  });
  if (e.samples.length > 0)
    pushTo(s.images, ASSESSMENT_NAMES.samples, {
      runId: e.runId,
      seq: e.seq,
      name: ASSESSMENT_NAMES.samples,
      step: e.step,
      size: e.size,
      thumbs: e.samples.map((t) => ({
        pixels: t.pixels,
        caption:
          `${t.label[0].toFixed(1)}, ${t.label[1].toFixed(1)}` +
          (t.located.count === 1 ? '' : ` · ${t.located.count} bumps`),
        marks: [
          { x: t.label[0], y: t.label[1], kind: 'label' },
          { x: t.located.x, y: t.located.y, kind: t.located.count === 1 ? 'found' : 'found?' },
        ],
      })),
    });
  // v2 runs log these figures as metric events themselves.
  if ((s.eventsVersion ?? 1) < 2) {
    addMetric(s, ASSESSMENT_NAMES.accuracy, e.step, e.accuracy, true);
    addMetric(s, ASSESSMENT_NAMES.r2x, e.step, e.r2.x, true);
    addMetric(s, ASSESSMENT_NAMES.r2y, e.step, e.r2.y, true);
    addMetric(s, ASSESSMENT_NAMES.r2, e.step, e.r2.mean, true);
    addMetric(s, ASSESSMENT_NAMES.oneBump, e.step, e.bumps.one, true);
    addMetric(s, ASSESSMENT_NAMES.noBump, e.step, e.bumps.none, true);
    addMetric(s, ASSESSMENT_NAMES.manyBumps, e.step, e.bumps.many, true);
  }
}

/** Folds one event in; false (and counted) when it was already applied. */
export function applyEvent(state: DashboardState, e: RunEvent): boolean {
  const s = seriesOf(state, e.runId);
  if (e.seq <= s.lastSeq) {
    state.duplicates++;
    return false;
  }
  s.lastSeq = e.seq;
  s.lastStep = Math.max(s.lastStep, e.step);
  switch (e.type) {
    case 'run-start':
      s.eventsVersion = e.meta.eventsVersion;
      if (e.meta.name) s.name = e.meta.name;
      break;
    case 'step':
      s.steps.push(e.step);
      s.loss.push(e.loss);
      s.lastStepTime = e.time;
      break;
    case 'assessment':
      applyAssessment(s, e);
      break;
    case 'phase':
      s.phases.push(e);
      break;
    case 'run-end':
      s.end = e;
      break;
    case 'metric':
      addMetric(s, e.name, e.step, e.value, false);
      break;
    case 'curve':
      pushTo(s.curves, e.name, e);
      break;
    case 'matrix':
      pushTo(s.matrices, e.name, e);
      break;
    case 'embedding':
      pushTo(s.embeddings, e.name, {
        runId: e.runId,
        seq: e.seq,
        name: e.name,
        step: e.step,
        points: e.points,
        colourBy: e.colourBy,
      });
      break;
    case 'images':
      pushTo(s.images, e.name, {
        runId: e.runId,
        seq: e.seq,
        name: e.name,
        step: e.step,
        size: e.size,
        thumbs: e.thumbs,
      });
      break;
    case 'alert':
      s.alerts.push(e);
      break;
    default:
      break;
  }
  return true;
}

/**
 * Applies one server message to the state (mutating it: a run can hold 100k points, and
 * copying them per message would cost more than drawing them). Returns true if anything
 * changed.
 */
export function applyMessage(state: DashboardState, msg: ServerMessage): boolean {
  let changed = true;
  switch (msg.type) {
    case 'runs':
      state.runs = msg.runs;
      if (msg.summaries) state.summaries = new Map(msg.summaries.map((s) => [s.runId, s]));
      for (const r of msg.runs) {
        const s = state.series.get(r.runId);
        if (s && r.name) s.name = r.name;
      }
      break;
    case 'event':
      changed = applyEvent(state, msg.event);
      break;
    case 'events':
      changed = false;
      for (const e of msg.events) changed = applyEvent(state, e) || changed;
      break;
    case 'replayed':
      seriesOf(state, msg.runId).replayed = true;
      break;
    case 'gap':
      seriesOf(state, msg.runId).dropped += msg.dropped;
      break;
    case 'error':
      state.lastError = msg.message;
      break;
    default:
      changed = false;
  }
  if (changed) state.revision++;
  return changed;
}

/** Parses a server frame; null for anything that is not a message of this protocol version. */
export function parseServerMessage(text: string): ServerMessage | null {
  try {
    const msg = JSON.parse(text) as ServerMessage;
    return msg && msg.v === PROTOCOL_VERSION && typeof msg.type === 'string' ? msg : null;
  } catch {
    return null;
  }
}

/** The run the dashboard opens on by itself: the newest running run, else the newest. */
export function defaultSelection(runs: readonly RunMeta[]): string[] {
  const newest = (list: readonly RunMeta[]) =>
    list.reduce<RunMeta | undefined>(
      (a, b) => (!a || b.createdAt >= a.createdAt ? b : a),
      undefined,
    );
  const pick = newest(runs.filter((r) => r.status === 'running')) ?? newest(runs);
  return pick ? [pick.runId] : [];
}

/**
 * The item of a step-ordered list shown for a chosen step: the last one at or before `step`
 * (the first if none is), or the newest when `step` is null.
 */
export function atStep<T extends { step: number }>(
  list: readonly T[],
  step: number | null,
): T | undefined {
  if (!list.length) return undefined;
  if (step === null) return list[list.length - 1];
  let pick = list[0];
  for (const item of list) if (item.step <= step) pick = item;
  return pick;
}

/** Every name a map-of-lists holds across runs, sorted. */
export function namesAcross<T>(
  series: readonly RunSeries[],
  pick: (s: RunSeries) => Map<string, T>,
): string[] {
  return [...new Set(series.flatMap((s) => [...pick(s).keys()]))].sort((a, b) =>
    a.localeCompare(b),
  );
}
