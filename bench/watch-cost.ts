/**
 * The cost of watching: the default experiment's wall time with snapshots (sampling, UMAP,
 * assessment, checkpoints) every `--every` steps, against the same steps with none, measured
 * in one run on this machine. Snapshots never drop: training waits only while `queue`
 * snapshots are sampling, so the overhead is what sampling and assessing take from training.
 *
 * The two settings alternate `--repeats` times (plain, watched, plain, …) and each keeps its
 * best (least disturbed) run, so a busy spell on a shared machine does not land on one side. `bench:train` runs
 * the same measurement (once) after its table.
 *
 * Usage: npm run bench:watch -- [--steps 1000] [--every 200] [--samples 200] [--repeats 3]
 *        [--backend native]
 * The last line is JSON: {"steps":…, "every":…, "plain_s":…, "watched_s":…, "overhead":…}
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { lastValueFrom } from 'rxjs';
import { runExperiment } from '../engine/experiment/run-experiment.js';

export interface WatchCostOptions {
  steps: number;
  every: number;
  samples: number;
  repeats: number;
  backend: string;
}

export interface WatchCost {
  plainRuns: number[];
  watchedRuns: number[];
  /** Best runs, seconds. */
  plain: number;
  watched: number;
  /** watched / plain − 1. */
  overhead: number;
}

/** Times the default experiment with and without snapshots, alternating `repeats` times. */
export async function measureWatchCost(o: WatchCostOptions): Promise<WatchCost> {
  const runsDir = mkdtempSync(join(os.tmpdir(), 'pw-watch-cost-'));
  const timed = async (snapshotEvery: number): Promise<number> => {
    const t0 = performance.now();
    await lastValueFrom(
      runExperiment(
        { steps: o.steps, snapshotEvery, samples: o.samples, backend: o.backend, seed: 1 },
        { runsDir },
      ),
    );
    return (performance.now() - t0) / 1000;
  };
  try {
    // a short warm-up so neither measured run pays for loading the backend and the first kernels
    await lastValueFrom(
      runExperiment({ steps: 20, snapshotEvery: 1e6, backend: o.backend }, { runsDir }),
    );
    const plainRuns: number[] = [];
    const watchedRuns: number[] = [];
    for (let i = 0; i < Math.max(1, o.repeats); i++) {
      plainRuns.push(await timed(o.steps * 10));
      watchedRuns.push(await timed(o.every));
    }
    const plain = Math.min(...plainRuns);
    const watched = Math.min(...watchedRuns);
    return { plainRuns, watchedRuns, plain, watched, overhead: watched / plain - 1 };
  } finally {
    rmSync(runsDir, { recursive: true, force: true });
  }
}

/** The measurement's lines, as both benches print them. */
export function watchCostLines(o: WatchCostOptions, r: WatchCost): string[] {
  const runs = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(', ');
  return [
    `${o.steps} steps, no snapshots:            ${r.plain.toFixed(1)} s (${runs(r.plainRuns)})`,
    `${o.steps} steps, a snapshot every ${o.every}:  ${r.watched.toFixed(1)} s (${runs(r.watchedRuns)}; ${Math.floor(o.steps / o.every)} snapshots of ${o.samples} images)`,
    `cost of watching: ${(r.overhead * 100).toFixed(1)} % (goal ≤ 12 %)`,
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '1000' },
      every: { type: 'string', default: '200' },
      samples: { type: 'string', default: '200' },
      backend: { type: 'string', default: 'native' },
      repeats: { type: 'string', default: '3' },
    },
  });
  const o: WatchCostOptions = {
    steps: Number(values.steps),
    every: Number(values.every),
    samples: Number(values.samples),
    repeats: Number(values.repeats),
    backend: values.backend,
  };
  const r = await measureWatchCost(o);
  const [load] = os.loadavg();
  console.log(
    `machine: ${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}, load average ${load.toFixed(2)}`,
  );
  for (const line of watchCostLines(o, r)) console.log(line);
  console.log(
    JSON.stringify({
      steps: o.steps,
      every: o.every,
      plain_s: +r.plain.toFixed(2),
      watched_s: +r.watched.toFixed(2),
      overhead: +r.overhead.toFixed(3),
    }),
  );
}
