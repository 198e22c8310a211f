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

/** The assessment's figures as generic `metric` events. */
export function assessmentMetrics(a: PhasedAssessment): EventInput[] {
  return Object.entries(assessmentFigures(a)).map(([name, value]) => ({
    type: 'metric',
    name,
    value,
    step: a.step,
  }));
}

/** What the wire carries of an assessment: figures, the embedding, a few thumbnails. */
export function assessmentEvent(a: PhasedAssessment, snap: Snapshot): EventInput {
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
    type: 'assessment',
    step: a.step,
    accuracy: a.accuracy,
    bumps: a.bumps,
    r2: a.r2,
    phase: a.phase,
    rawPhase: a.rawPhase,
    evidence: a.evidence,
    embedding: Array.from(a.embedding, (v) => Math.round(v * 1000) / 1000),
    labels: Array.from(snap.labels),
    size: snap.size,
    samples,
  };
}
