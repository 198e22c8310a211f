/**
 * The cost of watching: the default experiment's wall time with snapshots (sampling, UMAP,
 * assessment, checkpoints) every `--every` steps, against the same steps with none, measured
 * in one run on this machine. Snapshots never drop: training waits only while `queue`
 * snapshots are sampling, so the overhead is what sampling and assessing take from training.
 *
 * The two settings alternate `--repeats` times (plain, watched, plain, …) and each reports its
 * median, so a busy spell on the machine does not land on one side only.
 *
 * Usage: npm run bench:watch -- [--steps 1000] [--every 200] [--samples 200] [--repeats 3]
 *        [--backend native]
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
    repeats: { type: 'string', default: '3' },
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
  const repeats = Math.max(1, Number(values.repeats));
  const plainRuns: number[] = [];
  const watchedRuns: number[] = [];
  for (let i = 0; i < repeats; i++) {
    plainRuns.push(await timed(steps * 10));
    watchedRuns.push(await timed(every));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const plain = median(plainRuns);
  const watched = median(watchedRuns);
  const overhead = watched / plain - 1;
  const [load] = os.loadavg();
  console.log(
    `machine: ${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}, load average ${load.toFixed(2)}`,
  );
  const runs = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(', ');
  console.log(
    `${steps} steps, no snapshots:            ${plain.toFixed(1)} s (${runs(plainRuns)})`,
  );
  console.log(
    `${steps} steps, a snapshot every ${every}:  ${watched.toFixed(1)} s (${runs(watchedRuns)}; ${Math.floor(steps / every)} snapshots)`,
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
