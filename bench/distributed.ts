/**
 * Runs per hour of a queued sweep with 1, 2 and 3 worker processes on this machine: for each
 * worker count, a redis-server of its own (loopback, AOF on), that many `phasewatch worker`
 * processes (started and ready before the clock starts), then `--runs` tiny runs enqueued at
 * once; the clock stops when the queue has completed them all. Also the mean wall time of one
 * run (run-start to run-end, from its events.jsonl) and the load average.
 *
 * Usage: npx tsx bench/distributed.ts [--workers 1,2,3] [--runs 6] [--steps 12] [--backend cpu]
 * The last line is JSON: [{"workers":1,"runs":6,"seconds":…,"runsPerHour":…,"runSeconds":…}, …]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { redisQueue } from '../engine/distributed/queue.js';
import { gridPoints, pointKey, sweepRunId } from '../streams/sweep.js';
import type { RunEvent } from '../streams/events.js';
import { hasRedisServer, RedisServer } from '../spec/engine/distributed/redis-server.js';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2,3' },
    runs: { type: 'string', default: '6' },
    steps: { type: 'string', default: '12' },
    backend: { type: 'string', default: 'cpu' },
  },
});
const counts = values.workers.split(',').map(Number);
const runs = Number(values.runs);
const steps = Number(values.steps);
if (counts.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(runs) || runs < 1) {
  throw new Error(
    `--workers must list integers >= 1 and --runs be one (got ${values.workers}, ${values.runs})`,
  );
}
if (!hasRedisServer()) {
  console.log('redis-server is not installed (apt-get install redis-server): nothing measured');
  process.exit(0);
}
const CLI = fileURLToPath(new URL('../engine/cli/cli.ts', import.meta.url));
const context = {
  backend: values.backend,
  size: 8,
  widths: [4, 8, 8],
  steps,
  snapshotEvery: 4,
  samples: 24,
  batchSize: 8,
  ddimSteps: 2,
  timesteps: 10,
  confirm: 1,
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startWorker(url: string, runsDir: string): { proc: ChildProcess; ready: Promise<void> } {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'worker', '--redis', url, '--runs', runsDir],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PHASEWATCH_THREADS: '1' } },
  );
  const ready = new Promise<void>((resolve, reject) => {
    let seen = '';
    proc.stderr?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('taking runs from')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`worker exited (${code}): ${seen}`)));
  });
  return { proc, ready };
}

/** Wall seconds of one stored run, run-start to run-end. */
function runSeconds(dir: string): number {
  const events = readFileSync(join(dir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RunEvent);
  return (events.at(-1)!.time - events[0].time) / 1000;
}

const rows: {
  workers: number;
  runs: number;
  seconds: number;
  runsPerHour: number;
  runSeconds: number;
}[] = [];
console.log(
  `load average before: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; ${os.availableParallelism()} cores`,
);
for (const n of counts) {
  const tmp = mkdtempSync(join(os.tmpdir(), 'pw-bench-dist-'));
  mkdirSync(join(tmp, 'redis'));
  const runsDir = join(tmp, 'runs');
  mkdirSync(runsDir);
  const redis = await RedisServer.start(join(tmp, 'redis'));
  const workers = Array.from({ length: n }, () => startWorker(redis.url, runsDir));
  const q = redisQueue({ redis: redis.url, runsDir });
  try {
    await Promise.all(workers.map((w) => w.ready));
    const points = gridPoints({ seed: Array.from({ length: runs }, (_, i) => i + 1) });
    const t0 = performance.now();
    for (const point of points) {
      const runId = sweepRunId(`bench${n}`, point);
      await q.enqueue({ key: pointKey(point), runId, runsDir, point, context });
    }
    while ((await q.queue.getJobCounts('completed')).completed < runs) {
      const { failed } = await q.queue.getJobCounts('failed');
      if (failed) throw new Error(`${failed} runs failed`);
      await sleep(100);
    }
    const seconds = (performance.now() - t0) / 1000;
    const ids = points.map((p) => sweepRunId(`bench${n}`, p));
    const mean = ids.reduce((s, id) => s + runSeconds(join(runsDir, id)), 0) / ids.length;
    const row = {
      workers: n,
      runs,
      seconds: Math.round(seconds * 10) / 10,
      runsPerHour: Math.round((runs / seconds) * 3600),
      runSeconds: Math.round(mean * 10) / 10,
    };
    rows.push(row);
    console.log(
      `${n} worker${n > 1 ? 's' : ' '}: ${runs} runs in ${row.seconds} s = ${row.runsPerHour} runs/hour ` +
        `(one run ${row.runSeconds} s wall; load ${os.loadavg()[0].toFixed(1)})`,
    );
  } finally {
    for (const w of workers) w.proc.kill('SIGTERM');
    await Promise.all(
      workers.map((w) =>
        w.proc.exitCode !== null ? undefined : new Promise((r) => w.proc.once('exit', r)),
      ),
    );
    await q.close();
    await redis.down();
    rmSync(tmp, { recursive: true, force: true });
  }
}
console.log(JSON.stringify(rows));
