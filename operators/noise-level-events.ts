import type { EventInput, Snapshot } from '../streams/events.js';
import { noiseLevelProbes } from './metrics/noise-level-probes.js';

/**
 * The noise-level probes of a representation snapshot (`noiseLevelProbes`) as events: per
 * factor a `curve` `noise-probe/<factor>` (score against timestep) and `metric`s
 * `noise-probe/<factor>/peak`, `…/peak-t` and, for a class factor, `…/ensemble`. `watchPhases`
 * emits them with the snapshot's assessment. None when the snapshot has no noise levels.
 *
 * @example noiseLevelEvents(snap); // [{ type: 'curve', name: 'noise-probe/class', … }, …]
 */
export function noiseLevelEvents(s: Snapshot, seed = 1): EventInput[] {
  const events: EventInput[] = [];
  for (const c of noiseLevelProbes(s, seed)) {
    const name = `noise-probe/${c.factor}`;
    events.push(
      {
        type: 'curve',
        step: s.step,
        name,
        x: c.t,
        y: c.score,
        xLabel: 'timestep',
        yLabel: c.categorical ? 'probe accuracy (held out)' : 'read-out R²',
      },
      { type: 'metric', step: s.step, name: `${name}/peak`, value: c.peak },
      { type: 'metric', step: s.step, name: `${name}/peak-t`, value: c.peakT },
    );
    if (c.ensemble !== undefined) {
      events.push({ type: 'metric', step: s.step, name: `${name}/ensemble`, value: c.ensemble });
    }
  }
  return events;
}
