/**
 * Replay load (issue 21, item 8): C dashboards each replay a stored run in full (subscribe
 * with `sinceSeq: 0`, read until `replayed`, close, connect again) for S seconds, against a
 * `phasewatch serve` process, while another process asks for the page every 100 ms (so the
 * page's latency is the server's, not this busy process's). With R > 0 the dashboards start
 * R replays a second in all (the issue's load: 632 in 120 s, R = 5.3), else each starts its
 * next as soon as one ends. Reports the replays done,
 * the server's RSS (idle → peak) and the page's latency, first with the replay cache off
 * (`PHASEWATCH_REPLAY_CACHE_MB=0`: each replay reads and parses the log itself, as before),
 * then on (the default: the log read once, its frames shared).
 *
 *   npm run bench:replays -- [clients=30] [seconds=60] [steps=20000] [R=0]
 */
import { execFile } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { syntheticRun } from '../engine/server/synthetic-run.js';
import { RunStore } from '../engine/store/run-store.js';
import { freePort, startServe, type ServeProcess } from '../spec/engine/server/serve-process.js';

const clients = Number(process.argv[2] ?? 30);
const seconds = Number(process.argv[3] ?? 60);
const steps = Number(process.argv[4] ?? 20_000);
const rate = Number(process.argv[5] ?? 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const runsDir = mkdtempSync(join(tmpdir(), 'pw-replays-'));
const store = RunStore.create({ runsDir, runId: 'big', backend: 'cpu', config: {} });
for (const e of syntheticRun({ runId: 'big', steps, snapshotEvery: 50, points: 300 })) {
  store.append(e);
}
store.close('completed', steps);
const logBytes = statSync(join(runsDir, 'big', 'events.jsonl')).size;

/** RSS of a process in MB, from /proc. */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** One dashboard replaying the run over and over until `stop()`; counts its full replays. */
function replayer(server: ServeProcess, done: { count: number; stopped: boolean }): Promise<void> {
  const ws = server.url.replace(/^http/, 'ws').replace(/\/\?/, '/ws?');
  return new Promise((resolve) => {
    let next = Date.now() + Math.random() * (rate > 0 ? (1000 * clients) / rate : 0);
    const once = () => {
      if (done.stopped) return resolve();
      const wait = next - Date.now();
      if (wait > 0) return void setTimeout(once, wait);
      next += rate > 0 ? (1000 * clients) / rate : 0;
      const socket = new WebSocket(ws);
      socket.on('open', () =>
        socket.send(JSON.stringify({ v: 2, type: 'subscribe', runId: 'big', sinceSeq: 0 })),
      );
      socket.on('message', (data: Buffer) => {
        if (data.length < 200 && data.includes('"replayed"')) {
          done.count++;
          socket.close();
        }
      });
      socket.on('error', () => undefined);
      socket.on('close', () => setTimeout(once, 0));
    };
    once();
  });
}

/** Asks for the page every 100 ms for `seconds` from a process of its own; its latencies (ms). */
function pages(url: string, seconds: number): Promise<number[]> {
  const code = `
    const out = []; const end = Date.now() + ${seconds * 1000};
    while (Date.now() < end) {
      const t = performance.now();
      const r = await fetch(${JSON.stringify(url)}).catch(() => undefined);
      if (r) await r.text();
      out.push(r && r.status === 200 ? performance.now() - t : 1e9);
      await new Promise((d) => setTimeout(d, 100));
    }
    console.log(JSON.stringify(out));`;
  return new Promise((done, fail) => {
    execFile(process.execPath, ['--input-type=module', '-e', code], (err, stdout) =>
      err ? fail(err) : done(JSON.parse(stdout) as number[]),
    );
  });
}

async function measure(cacheMb: string) {
  const port = await freePort();
  const server = await startServe(runsDir, port, 'bench', { PHASEWATCH_REPLAY_CACHE_MB: cacheMb });
  const pid = server.child.pid as number;
  await sleep(1000);
  const idle = rssMb(pid);
  const done = { count: 0, stopped: false };
  const running = Array.from({ length: clients }, () => replayer(server, done));
  const pinger = pages(server.url, seconds);
  let peak = idle;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    peak = Math.max(peak, rssMb(pid));
    await sleep(100);
  }
  done.stopped = true;
  const latencies = await pinger;
  const replays = done.count;
  await Promise.race([Promise.all(running), sleep(10_000)]);
  await server.kill();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return {
    cache: cacheMb === '0' ? 'off (each replay reads the log)' : `${cacheMb} MiB`,
    replays,
    rssIdleMb: Math.round(idle),
    rssPeakMb: Math.round(peak),
    pages: latencies.length,
    pageMedianMs: Math.round(pct(0.5)),
    pageP99Ms: Math.round(pct(0.99)),
    pageMaxMs: Math.round(latencies[latencies.length - 1]),
  };
}

console.log(
  `${clients} clients replaying a ${steps}-step run (${(logBytes / 1e6).toFixed(1)} MB log) for ${seconds} s each way, ${rate > 0 ? `${rate} replays/s in all` : 'as fast as they can'}`,
);
const results = [await measure('0'), await measure('64')];
console.table(results);
rmSync(runsDir, { recursive: true, force: true });
