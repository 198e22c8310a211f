import {
  EVENTS_VERSION,
  assessmentFigures,
  type AssessmentEvent,
  type Phase,
  type UnsequencedEvent,
} from '../../../streams/events.js';

/** One assessment of a hand-made bump run: its phase and the figures the rule reads. */
export interface BumpSnapshot {
  step: number;
  phase: Phase;
  oneBump: number;
  accuracyOneBump: number;
  r2mean: number;
  neighbourhood: number;
}

/**
 * The thresholds the hand-made runs are judged by: not the defaults, so a view that draws the
 * defaults instead of what the evidence says is caught.
 */
export const BUMP_THRESHOLDS = {
  minOneBump: 0.55,
  minAccuracyOneBump: 0.85,
  minR2: 0.35,
  minNeighbourhood: 0.3,
};

/**
 * The events of a bump run as the default experiment stores them (assessments with their
 * evidence, their figures as `phase/` and `evidence/` metrics, phase events at each confirmed
 * change), with the assessments given: what a stored default run looks like, small enough for a
 * browser spec. The run ends at `steps`.
 */
export function* bumpRun(
  runId: string,
  steps: number,
  snapshots: BumpSnapshot[],
): Generator<UnsequencedEvent> {
  const time = Date.now;
  yield {
    type: 'run-start',
    runId,
    step: 0,
    time: time(),
    meta: {
      runId,
      eventsVersion: EVENTS_VERSION,
      createdAt: new Date().toISOString(),
      backend: 'synthetic',
      config: { steps },
      status: 'running',
    },
  };
  let phase: Phase | null = null;
  for (let step = 10; step <= steps; step += 10) {
    yield { type: 'step', runId, step, time: time(), loss: 1 / step, examplesPerSec: 100 };
    const snap = snapshots.find((s) => s.step === step);
    if (!snap) continue;
    const r2 = { x: snap.r2mean + 0.02, y: snap.r2mean - 0.02, mean: snap.r2mean };
    const bumps = { none: (1 - snap.oneBump) / 2, one: snap.oneBump, many: (1 - snap.oneBump) / 2 };
    const evidence = {
      n: 20,
      oneBump: snap.oneBump,
      none: bumps.none,
      many: bumps.many,
      accuracy: snap.accuracyOneBump * snap.oneBump,
      accuracyOneBump: snap.accuracyOneBump,
      r2x: r2.x,
      r2y: r2.y,
      r2mean: snap.r2mean,
      intrinsicDim: 2,
      neighbourhood: snap.neighbourhood,
      tol: 1.5,
      ...BUMP_THRESHOLDS,
      inputOk: 1,
      labelsInImage: 1,
      bumpLike: 0.9,
    };
    const a: Omit<AssessmentEvent, 'seq'> = {
      type: 'assessment',
      runId,
      step,
      time: time(),
      accuracy: evidence.accuracy,
      bumps,
      r2,
      phase: snap.phase,
      rawPhase: snap.phase,
      evidence,
      embedding: Array.from({ length: 60 }, (_, i) => ((i * 7) % 13) / 13),
      labels: Array.from({ length: 40 }, (_, i) => i % 8),
      size: 8,
      samples: [],
    };
    yield a;
    for (const [name, value] of Object.entries(assessmentFigures(a))) {
      yield { type: 'metric', runId, step, time: time(), name, value };
    }
    if (snap.phase !== phase) {
      yield { type: 'phase', runId, step, time: time(), from: phase, to: snap.phase, evidence };
      phase = snap.phase;
    }
  }
  yield { type: 'run-end', runId, step: steps, time: time(), status: 'completed' };
}

/** A run that stays in A until its last assessment, at its last step, finds C. */
export const LATE_C: BumpSnapshot[] = [
  { step: 200, phase: 'A', oneBump: 0.2, accuracyOneBump: 0.3, r2mean: 0.1, neighbourhood: 0.05 },
  { step: 400, phase: 'A', oneBump: 0.4, accuracyOneBump: 0.6, r2mean: 0.2, neighbourhood: 0.1 },
  { step: 600, phase: 'A', oneBump: 0.5, accuracyOneBump: 0.8, r2mean: 0.3, neighbourhood: 0.2 },
  // R² is the condition closest to its threshold: the one that decided A → C
  { step: 800, phase: 'C', oneBump: 0.9, accuracyOneBump: 0.95, r2mean: 0.38, neighbourhood: 0.5 },
];
