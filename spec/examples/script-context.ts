import { resolveConfig, type ExperimentConfig } from '../../engine/experiment/config.js';
import { createScriptContext, type ScriptContext } from '../../engine/experiment/script.js';

const TINY: Partial<ExperimentConfig> = {
  backend: 'cpu',
  size: 8,
  widths: [4, 8, 8],
  dx: 1,
  steps: 12,
  snapshotEvery: 4,
  samples: 24,
  batchSize: 8,
  ddimSteps: 2,
  timesteps: 10,
  confirm: 1,
};

/**
 * What `phasewatch run <script>` hands a script, with a tiny model so examples run in seconds.
 * A script's own `run({ … })` settings win over the tiny ones, unless `flags` is given: then
 * the tiny settings and `flags` are the command line's, and win (as `--steps 12` would).
 */
export function tinyContext(runsDir: string, flags?: Partial<ExperimentConfig>): ScriptContext {
  const explicit = flags && { ...TINY, ...flags };
  return createScriptContext({ config: resolveConfig(explicit ?? TINY), runsDir, explicit });
}
