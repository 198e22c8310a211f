import type { PhasedAssessment } from './phase-hysteresis.js';
import { locateBump } from './metrics/locate-bump.js';
import {
  assessmentFigures,
  type EventInput,
  type SampleThumb,
  type Snapshot,
} from '../streams/events.js';

/** Thumbnails sent per snapshot over the wire. */
export const THUMBS = 16;

/**
 * The assessment's figures as generic `metric` events, and a `warning` alert when its phase
 * is withheld (the snapshot is not what the bump rule assumes).
 */
export function assessmentMetrics(a: PhasedAssessment): EventInput[] {
  const metrics: EventInput[] = Object.entries(assessmentFigures(a)).map(([name, value]) => ({
    type: 'metric',
    name,
    value,
    step: a.step,
  }));
  if (a.warning) {
    metrics.push({
      type: 'alert',
      step: a.step,
      level: 'warning',
      message: `snapshot at step ${a.step}: ${a.warning}`,
    });
  }
  return metrics;
}

/**
 * What the wire carries of an assessment: figures, the embedding, a few thumbnails (bumps), or
 * the factors to colour the embedding by (a representation snapshot: no labels, no samples).
 */
export function assessmentEvent(a: PhasedAssessment, snap: Snapshot): EventInput {
  const common = {
    type: 'assessment' as const,
    step: a.step,
    accuracy: a.accuracy,
    bumps: a.bumps,
    r2: a.r2,
    phase: a.phase,
    rawPhase: a.rawPhase,
    evidence: a.evidence,
    ...(a.warning ? { warning: a.warning } : {}),
    embedding: Array.from(a.embedding, (v) => Math.round(v * 1000) / 1000),
  };
  if (snap.factors) {
    const factors: Record<string, number[]> = {};
    for (const [name, f] of Object.entries(snap.factors)) factors[name] = Array.from(f.values);
    return { ...common, rule: 'representation', factors, labels: [], size: 0, samples: [] };
  }
  const n = snap.labels.length / 2;
  const px = snap.size * snap.size;
  const samples: SampleThumb[] = [];
  for (let i = 0; i < Math.min(THUMBS, n); i++) {
    const img = snap.images.subarray(i * px, (i + 1) * px);
    samples.push({
      label: [snap.labels[2 * i], snap.labels[2 * i + 1]],
      located: locateBump(img, snap.size),
      pixels: Array.from(img, (v) => Math.round(Math.min(1, Math.max(0, (v + 1) / 2)) * 255)),
    });
  }
  return {
    ...common,
    labels: Array.from(snap.labels),
    size: snap.size,
    samples,
  };
}
