/**
 * Trains the default experiment and prints a line whenever the confirmed phase changes.
 *
 *   npx phasewatch run examples/phase-alert.ts --steps 3000
 */
import { filter, tap } from 'rxjs';
import type { PhaseEvent, RunEvent, ScriptContext } from 'phasewatch';

export default ({ run }: ScriptContext) =>
  run().pipe(
    filter((e: RunEvent): e is PhaseEvent => e.type === 'phase'),
    tap((e) => console.log(`phase ${e.from ?? '-'} → ${e.to} at step ${e.step}`)),
  );
