import type { Phase } from '../streams/events.js';

export interface PhaseSegment {
  phase: Phase;
  from: number;
  to: number;
  /** Assessments the segment spans. */
  count: number;
  /** The evidence of the assessment that opened the segment. */
  evidence: Record<string, number>;
}

export interface PhaseMarker {
  step: number;
  from: Phase | null;
  to: Phase;
  evidence: Record<string, number>;
}

/**
 * The phase band of a run: each assessment's phase holds from its step to the next one's
 * (the last to `endStep`), and runs of the same phase merge into one segment. An assessment
 * whose phase was withheld (`warning`: the snapshot is not what the bump rule assumes) opens
 * no segment: the phase before it holds on.
 *
 * @example
 * phaseSegments([{ step: 50, phase: 'A', evidence: {} }, { step: 100, phase: 'B', evidence: {} }], 120)
 * // → [{ phase: 'A', from: 50, to: 100, … }, { phase: 'B', from: 100, to: 120, … }]
 */
export function phaseSegments(
  assessments: ReadonlyArray<{
    step: number;
    phase: Phase;
    evidence: Record<string, number>;
    warning?: string;
  }>,
  endStep: number,
): PhaseSegment[] {
  const sorted = assessments.filter((a) => !a.warning).sort((a, b) => a.step - b.step);
  const out: PhaseSegment[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i];
    const to = i + 1 < sorted.length ? sorted[i + 1].step : Math.max(endStep, a.step);
    const prev = out[out.length - 1];
    if (prev && prev.phase === a.phase) {
      prev.to = to;
      prev.count++;
    } else {
      out.push({ phase: a.phase, from: a.step, to, count: 1, evidence: a.evidence });
    }
  }
  return out;
}
