/**
 * A sweep over the data increment dx: denser data (smaller dx) should reach phase C in
 * fewer steps (seed 004, Fig. 4). Runs one after another and prints, for each dx, the
 * step at which each phase was first confirmed.
 *
 *   npx phasewatch run examples/dx-sweep.ts --steps 3000
 */
import { concatMap, filter, from, map, reduce } from 'rxjs';
import type { Phase, PhaseEvent, RunEvent, ScriptContext } from 'phasewatch';

export const INCREMENTS = [0.5, 1, 2];

export default ({ run }: ScriptContext) =>
  from(INCREMENTS).pipe(
    concatMap((dx) =>
      run({ dx }).pipe(
        filter((e: RunEvent): e is PhaseEvent => e.type === 'phase'),
        reduce(
          (firstAt: Partial<Record<Phase, number>>, e) => ({ [e.to]: e.step, ...firstAt }),
          {},
        ),
        map((firstAt) => ({ dx, firstAt })),
      ),
    ),
    map((row) => {
      console.log(`dx ${row.dx}: ${JSON.stringify(row.firstAt)}`);
      return row;
    }),
  );
