/**
 * The default experiment with an operator of the user's own: at every snapshot, the fraction
 * of generated images whose bump lies within 2 px of the border, and its moving average over
 * the last 3 snapshots. Both are stored as `metric` events, replayed with the run, and drawn
 * by the dashboard under the panel `custom/`.
 *
 *   npx phasewatch run examples/custom-metric.ts --serve
 */
import { mergeMap, scan } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { locateBump } from 'phasewatch';
import type { EventInput, ScriptContext, Snapshot } from 'phasewatch';

/** Fraction of a snapshot's images with exactly one bump, centred within `margin` px of an edge. */
export function borderFraction(s: Snapshot, margin = 2): number {
  const px = s.size * s.size;
  const n = s.images.length / px;
  let near = 0;
  for (let i = 0; i < n; i++) {
    const b = locateBump(s.images.subarray(i * px, (i + 1) * px), s.size);
    const edge = Math.min(b.x, b.y, s.size - 1 - b.x, s.size - 1 - b.y);
    if (b.count === 1 && edge < margin) near++;
  }
  return n ? near / n : 0;
}

/** The operator: the border fraction and its moving average over the last `window` snapshots. */
export function borderMetrics(window = 3): OperatorFunction<Snapshot, EventInput> {
  return (snaps$) =>
    snaps$.pipe(
      scan((acc, s) => ({ step: s.step, last: [...acc.last, borderFraction(s)].slice(-window) }), {
        step: 0,
        last: [] as number[],
      }),
      mergeMap(({ step, last }): EventInput[] => [
        { type: 'metric', name: 'custom/border', value: last[last.length - 1], step },
        {
          type: 'metric',
          name: 'custom/border-avg',
          value: last.reduce((a, b) => a + b, 0) / last.length,
          step,
        },
      ]),
    );
}

export default ({ run }: ScriptContext) =>
  run({}, { name: 'custom-metric', tags: ['example'], operators: [borderMetrics()] });
