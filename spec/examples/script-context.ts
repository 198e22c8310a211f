import { resolveConfig } from '../../engine/experiment/config.js';
import { createScriptContext, type ScriptContext } from '../../engine/experiment/script.js';

/** What `phasewatch run <script>` hands a script, with a tiny model so examples run in seconds. */
export function tinyContext(runsDir: string): ScriptContext {
  const config = resolveConfig({
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
  });
  return createScriptContext({ config, runsDir });
}
