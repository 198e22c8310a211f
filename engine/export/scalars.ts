import type { Phase, RunEvent } from '../../streams/events.js';

/** One point of a scalar series, as exported to TensorBoard and CSV. */
export interface ScalarPoint {
  step: number;
  /** Milliseconds since the epoch. */
  time: number;
  /** Series name; `/` groups series (`phase/accuracy`). */
  name: string;
  value: number;
}

const PHASE_INDEX: Record<Phase, number> = { A: 0, B: 1, C: 2 };

/** The name of a metric with its tags, e.g. `probe/acc/layer=4` (tags sorted by key). */
export function metricName(name: string, tags?: Record<string, string>): string {
  const keys = Object.keys(tags ?? {}).sort();
  return keys.length ? `${name}/${keys.map((k) => `${k}=${tags?.[k]}`).join(',')}` : name;
}

/**
 * Every scalar a run's events hold, in event order: training loss and speed of `step`
 * events (`train/loss`, `train/examples_per_sec`), `metric` events by name (with their
 * tags), and the figures of `assessment` events under the names the default experiment
 * gives their metrics (`phase/accuracy`, `phase/r2`, …) plus `phase/index` (A = 0, B = 1,
 * C = 2) and `phase/raw-index`. A metric the run itself stored under a name and
 * step wins over the same figure derived from an assessment.
 *
 * @example scalarSeries(readRunEvents('runs/abc')).filter((p) => p.name === 'train/loss');
 */
export function scalarSeries(events: readonly RunEvent[]): ScalarPoint[] {
  const stored = new Set<string>();
  for (const e of events) {
    if (e.type === 'metric') stored.add(`${metricName(e.name, e.tags)}@${e.step}`);
  }
  const out: ScalarPoint[] = [];
  const add = (e: RunEvent, name: string, value: number, derived = true) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return;
    if (derived && stored.has(`${name}@${e.step}`)) return;
    out.push({ step: e.step, time: e.time, name, value });
  };
  for (const e of events) {
    switch (e.type) {
      case 'step':
        add(e, 'train/loss', e.loss);
        add(e, 'train/examples_per_sec', e.examplesPerSec);
        break;
      case 'metric':
        add(e, metricName(e.name, e.tags), e.value, false);
        break;
      case 'assessment':
        add(e, 'phase/accuracy', e.accuracy);
        add(e, 'phase/r2x', e.r2.x);
        add(e, 'phase/r2y', e.r2.y);
        add(e, 'phase/r2', e.r2.mean);
        add(e, 'phase/one-bump', e.bumps.one);
        add(e, 'phase/no-bump', e.bumps.none);
        add(e, 'phase/many-bumps', e.bumps.many);
        if (e.warning) break; // the phase was withheld: the snapshot is not bump images
        add(e, 'phase/index', PHASE_INDEX[e.phase]);
        add(e, 'phase/raw-index', PHASE_INDEX[e.rawPhase]);
        break;
      default:
        break;
    }
  }
  return out;
}
