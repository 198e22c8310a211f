/**
 * The default experiment with a per-step metric of the user's own: an exponential moving
 * average of the training loss (decay 0.98, debiased), stored as `metric` events at every
 * step and drawn by the dashboard under the panel `train/`, beside the raw loss.
 *
 *   npx phasewatch run examples/loss-ema.ts --steps 600 --serve
 */
import { emaMetric } from 'phasewatch';
import type { ScriptContext } from 'phasewatch';

export default ({ run }: ScriptContext) =>
  run(
    { steps: 600 },
    { name: 'loss-ema', stepOperators: [emaMetric('train/loss-ema', { decay: 0.98 })] },
  );
