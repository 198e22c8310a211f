import type { Phase } from '../../streams/events.js';
import type { Assessment } from '../../streams/events.js';

/** A minimal assessment for marble tests: only `step` and `phase` vary. */
export function fakeAssessment(step: number, phase: Phase): Assessment {
  return {
    step,
    accuracy: 0,
    bumps: { none: 0, one: 1, many: 0 },
    r2: { x: 0, y: 0, mean: 0 },
    embedding: new Float32Array(0),
    phase,
    evidence: { step },
  };
}
