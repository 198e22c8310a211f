import { map, pipe } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { Assessment, EventInput, Phase } from '../streams/events.js';
import { phaseTransitions } from './phase-transitions.js';

/**
 * `phaseTransitions` as `phase` events ready for `record()`: one each time the confirmed
 * phase changes, starting from `initial` (a resumed run passes the phase it had).
 *
 * ```
 * assessments: -A-A-C-|
 * result:      -a---c-|    a: phase null→A, c: phase A→C
 * ```
 *
 * @example assessed$.pipe(phaseEvents())
 */
export function phaseEvents(
  initial: Phase | null = null,
): OperatorFunction<Assessment, EventInput> {
  return pipe(
    phaseTransitions(initial),
    map((p): EventInput => ({
      type: 'phase',
      step: p.step,
      from: p.from,
      to: p.to,
      evidence: p.evidence,
    })),
  );
}
