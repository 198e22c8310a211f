import type { Assessment, Snapshot } from '../../streams/events.js';
import { assessRepresentation } from './assess-representation.js';
import { assessSnapshot, type AssessOptions } from './assess-snapshot.js';

/**
 * Assesses a snapshot by the rule that fits it: a representation snapshot (one with `factors`)
 * by the generic `assessRepresentation`, a bump snapshot by `assessSnapshot`, the bump
 * experiment's specialisation. What `watchPhases` and the ingest server's workers call.
 *
 * @example await assessAny({ ...snap, factors: { angle: { values } } }); // rule 'representation'
 */
export function assessAny(s: Snapshot, opts: AssessOptions = {}): Promise<Assessment> {
  return s.factors ? assessRepresentation(s, opts) : assessSnapshot(s, opts);
}
