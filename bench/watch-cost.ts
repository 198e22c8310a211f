/**
 * The cost of watching: the default experiment's wall time with snapshots (sampling, UMAP,
 * assessment, checkpoints) every `--every` steps, against the same steps with none, measured
 * in one run on this machine. Snapshots never drop: training waits only while `queue`
 * snapshots are sampling, so the overhead is what sampling and assessing take from training.
 *
 * Usage: npx tsx bench/watch-cost.ts [--steps 1000] [--every 200] [--samples 200] [--backend native]
 * The last line is JSON: {"steps":…, "every":…, "plain_s":…, "watched_s":…, "overhead":…}
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { lastValueFrom } from 'rxjs';
import { runExperiment } from '../engine/experiment.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '1000' },
    every: { type: 'string', default: '200' },
    samples: { type: 'string', default: '200' },
    backend: { type: 'string', default: 'native' },
  },
});
const steps = Number(values.steps);
const every = Number(values.every);
const runsDir = mkdtempSync(join(os.tmpdir(), 'pw-watch-cost-'));

async function timed(snapshotEvery: number): Promise<number> {
  const t0 = performance.now();
  await lastValueFrom(
    runExperiment(
      { steps, snapshotEvery, samples: Number(values.samples), backend: values.backend, seed: 1 },
      { runsDir },
    ),
  );
  return (performance.now() - t0) / 1000;
}

try {
  // a short warm-up so neither measured run pays for loading the backend and the first kernels
  await lastValueFrom(
    runExperiment({ steps: 20, snapshotEvery: 1e6, backend: values.backend }, { runsDir }),
  );
  const plain = await timed(steps * 10);
  const watched = await timed(every);
  const overhead = watched / plain - 1;
  const [load] = os.loadavg();
  console.log(
    `machine: ${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}, load average ${load.toFixed(2)}`,
  );
  console.log(`${steps} steps, no snapshots:            ${plain.toFixed(1)} s`);
  console.log(
    `${steps} steps, a snapshot every ${every}:  ${watched.toFixed(1)} s (${Math.floor(steps / every)} snapshots)`,
  );
  console.log(`cost of watching: ${(overhead * 100).toFixed(1)} % (goal ≤ 10 %)`);
  console.log(
    JSON.stringify({
      steps,
      every,
      plain_s: +plain.toFixed(2),
      watched_s: +watched.toFixed(2),
      overhead: +overhead.toFixed(3),
    }),
  );
} finally {
  rmSync(runsDir, { recursive: true, force: true });
}
