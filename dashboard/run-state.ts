import type { ServerMessage } from '../streams/protocol.js';
import type {
  AssessmentEvent,
  PhaseEvent,
  RunEndEvent,
  RunEvent,
  RunMeta,
} from '../streams/events.js';

/** Everything the dashboard has received of one run, in columns the charts read directly. */
export interface RunSeries {
  runId: string;
  /** Highest `seq` applied: where a reconnect resumes (`sinceSeq`). */
  lastSeq: number;
  steps: number[];
  loss: number[];
  /** `time` of the newest step event (for latency figures). */
  lastStepTime: number;
  lastStep: number;
  assessments: AssessmentEvent[];
  phases: PhaseEvent[];
  end?: RunEndEvent;
  /** Step events the server dropped because this client fell behind. */
  dropped: number;
  /** True once the stored events have been replayed. */
  replayed: boolean;
}

export interface DashboardState {
  runs: RunMeta[];
  series: Map<string, RunSeries>;
  /** Events that arrived twice (seq not above lastSeq) and were ignored; should stay 0. */
  duplicates: number;
  /** The server's latest error message, if any. */
  lastError: string | null;
  /** Bumped on every change, so views know to redraw. */
  revision: number;
}

export function createState(): DashboardState {
  return { runs: [], series: new Map(), duplicates: 0, lastError: null, revision: 0 };
}

export function seriesOf(state: DashboardState, runId: string): RunSeries {
  let s = state.series.get(runId);
  if (!s) {
    s = {
      runId,
      lastSeq: 0,
      steps: [],
      loss: [],
      lastStepTime: 0,
      lastStep: 0,
      assessments: [],
      phases: [],
      dropped: 0,
      replayed: false,
    };
    state.series.set(runId, s);
  }
  return s;
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
    case 'step':
      s.steps.push(e.step);
      s.loss.push(e.loss);
      s.lastStepTime = e.time;
      break;
    case 'assessment':
      s.assessments.push(e);
      break;
    case 'phase':
      s.phases.push(e);
      break;
    case 'run-end':
      s.end = e;
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
  }
  if (changed) state.revision++;
  return changed;
}

/** Parses a server frame; null for anything that is not a v1 message. */
export function parseServerMessage(text: string): ServerMessage | null {
  try {
    const msg = JSON.parse(text) as ServerMessage;
    return msg && msg.v === 1 && typeof msg.type === 'string' ? msg : null;
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
