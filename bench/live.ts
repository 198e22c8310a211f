/**
 * Live dashboard bench: event → browser latency at a steady event rate, server throughput
 * with many connected sockets, each against a reference measured in the same run, and the
 * time from page load to the sweep panel drawn for a stored sweep of `--sweep-runs` runs
 * (drawn from the server's run summaries; the first load builds them from the logs).
 *
 *   npm run bench:live -- [--seconds 60] [--rate 200] [--clients 20] [--events 20000]
 *                         [--sweep-runs 100] [--only latency|throughput|sweep]
 *
 * Latency is from an event's `time` (stamped just before the run store appends it) to the
 * first animation frame after the loss chart has drawn it, in headless chromium. The probes are
 * injected into the page by this bench (`injectProbes`); the dashboard carries no hooks.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Subject } from 'rxjs';
import { WebSocket } from 'ws';
import { startServer } from '../engine/server/live-server.js';
import { RunSummaries } from '../engine/server/run-summary.js';
import { RunStore } from '../engine/store/run-store.js';
import { storeSyntheticSweep, syntheticRun } from '../engine/server/synthetic-run.js';
import type { RunEvent } from '../streams/events.js';
import { PROTOCOL_VERSION } from '../streams/protocol.js';
import { hasChromium, openBrowser } from '../spec/dashboard/support/browser.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '200' },
    clients: { type: 'string', default: '20' },
    events: { type: 'string', default: '20000' },
    'sweep-runs': { type: 'string', default: '100' },
    only: { type: 'string' },
  },
});
const only = values.only;
if (only !== undefined && !['latency', 'throughput', 'sweep'].includes(only)) {
  console.error(`--only must be latency, throughput or sweep (got ${JSON.stringify(only)})`);
  process.exit(2);
}
const sweepRuns = Number(values['sweep-runs']);
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const clientCount = Number(values.clients);
const eventCount = Number(values.events);
for (const [name, v] of Object.entries({
  seconds,
  rate,
  clients: clientCount,
  events: eventCount,
  'sweep-runs': sweepRuns,
})) {
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`--${name} must be a positive number (got ${String(v)})`);
    process.exit(2);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');

/** Appends a synthetic run at `rate` events/s for `seconds`, with `time` stamped at append. */
async function feedAtRate(store: RunStore, runId: string, seconds: number, rate: number) {
  const events = syntheticRun({ runId, steps: Math.ceil(seconds * rate), snapshotEvery: 50 });
  const t0 = performance.now();
  let sent = 0;
  for (;;) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    while (sent < due) {
      const next = events.next();
      if (next.done) return sent;
      store.append({ ...next.value, time: Date.now() });
      sent++;
    }
    if (performance.now() - t0 > seconds * 1000) return sent;
    await sleep(2);
  }
}

interface Probes {
  /** Step event `time` → the page received it, ms. */
  received: number[];
  /** → the loss chart holds it (its `data-last-step` changed), ms. */
  drawn: number[];
  /** → the next animation frame after that (painted), ms. */
  painted: number[];
}

/**
 * Runs in the page before the dashboard loads: the measurement lives here, in the bench, not
 * in the dashboard. It wraps `WebSocket` to note when each step event arrives (and its
 * `time`), and watches the loss chart's `data-last-step` to note when a step is drawn.
 */
function injectProbes(): void {
  const probes: Probes = { received: [], drawn: [], painted: [] };
  (window as unknown as { __benchProbes: Probes }).__benchProbes = probes;
  const stepTime = new Map<number, number>();
  const Native = window.WebSocket;
  class ProbedSocket extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener('message', (ev: MessageEvent) => {
        if (typeof ev.data !== 'string' || !ev.data.includes('"step"')) return;
        const msg = JSON.parse(ev.data) as {
          events?: Array<{ type: string; step: number; time: number }>;
          event?: { type: string; step: number; time: number };
        };
        let newest = 0;
        for (const e of msg.events ?? (msg.event ? [msg.event] : [])) {
          if (e.type !== 'step') continue;
          stepTime.set(e.step, e.time);
          newest = Math.max(newest, e.time);
        }
        if (newest) probes.received.push(Date.now() - newest);
      });
    }
  }
  window.WebSocket = ProbedSocket;
  let lastStep = '';
  const watch = () => {
    const chart = document.querySelector('phasewatch-app')?.shadowRoot?.querySelector('loss-chart');
    if (!chart) {
      setTimeout(watch, 20);
      return;
    }
    new MutationObserver(() => {
      const step = chart.getAttribute('data-last-step') ?? '';
      const t = stepTime.get(Number(step));
      if (step === lastStep || t === undefined) return;
      lastStep = step;
      probes.drawn.push(Date.now() - t);
      requestAnimationFrame(() => probes.painted.push(Date.now() - t));
    }).observe(chart, { attributes: true, attributeFilter: ['data-last-step'] });
  };
  document.addEventListener('DOMContentLoaded', watch);
}

async function latency(runsDir: string) {
  if (!hasChromium) {
    console.log('latency: skipped (/usr/bin/chromium is missing)');
    return;
  }
  const hub = new Subject<RunEvent>();
  const server = await startServer({ runsDir, live$: hub, port: 0 });
  const browser = await openBrowser();
  try {
    // As source text: tsx's helpers (`__name`) do not exist in the page.
    await browser.page.addInitScript({
      content: `var __name = (f) => f;\n(${injectProbes.toString()})();`,
    });
    const store = RunStore.create({ runsDir, runId: 'latency', backend: 'bench', config: {}, hub });
    // A Node client beside the browser: tells the server's share of the latency from the page's.
    const probe = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
    const probed: number[] = [];
    await new Promise((r) => probe.once('open', r));
    let subscribed = false;
    probe.on('message', (data) => {
      const msg = JSON.parse(String(data)) as {
        events?: RunEvent[];
        event?: RunEvent;
        runs?: Array<{ runId: string }>;
      };
      // Subscribe once the catalogue lists the run (the server knows it from then on).
      if (!subscribed && msg.runs?.some((r) => r.runId === 'latency')) {
        subscribed = true;
        probe.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'subscribe', runId: 'latency' }));
      }
      const events = msg.events ?? (msg.event ? [msg.event] : []);
      const newest = events.reduce((t, e) => (e.type === 'step' ? Math.max(t, e.time) : t), 0);
      if (newest) probed.push(Date.now() - newest);
    });
    await browser.page.goto(server.url);
    await browser.page.locator('phasewatch-app[data-connection=open]').waitFor();
    await browser.page.locator('runs-table tr[data-run=latency][aria-selected=true]').waitFor();
    await sleep(300);
    const sent = await feedAtRate(store, 'latency', seconds, rate);
    store.close('completed', sent);
    await sleep(300);
    const probes = await browser.page.evaluate(
      () => (window as unknown as { __benchProbes?: Probes }).__benchProbes,
    );
    const {
      painted: all,
      received: recv,
      drawn: drawnAll,
    } = probes ?? {
      painted: [],
      received: [],
      drawn: [],
    };
    const drawn = drawnAll.slice(Math.round(drawnAll.length / seconds));
    // The first second warms up the page and the JIT.
    const lat = all.slice(Math.min(all.length - 1, Math.round(all.length / seconds)));
    console.log(
      `latency  event→painted (next frame) at ${rate} events/s for ${seconds} s (${sent} events, ${all.length} frames): ` +
        `p50 ${fmt(pct(lat, 50))} ms  p95 ${fmt(pct(lat, 95))} ms  p99 ${fmt(pct(lat, 99))} ms  ` +
        `max ${fmt(Math.max(...lat))} ms  (goal p95 <= 50 ms)`,
    );
    console.log(
      `latency  event→chart updated in the DOM: p50 ${fmt(pct(drawn, 50))} ms  ` +
        `p95 ${fmt(pct(drawn, 95))} ms  p99 ${fmt(pct(drawn, 99))} ms`,
    );
    console.log(
      `latency  event→received by the page (${recv.length} messages): ` +
        `p50 ${fmt(pct(recv, 50))} ms  p95 ${fmt(pct(recv, 95))} ms  max ${fmt(Math.max(...recv))} ms`,
    );
    console.log(
      `latency  event→received by a Node client (${probed.length} messages): ` +
        `p50 ${fmt(pct(probed, 50))} ms  p95 ${fmt(pct(probed, 95))} ms  max ${fmt(Math.max(...probed))} ms`,
    );
    probe.terminate();
  } finally {
    await browser.close();
    await server.close();
  }
}

// The clients live in a worker thread, so their parsing does not take the server's CPU time
// in the measurement; each counts events until it has seen the run end.
const CLIENTS_WORKER = `
const { WebSocket } = require('ws');
const { parentPort, workerData } = require('node:worker_threads');
const { url, clients } = workerData;
let open = 0, done = 0, received = 0;
for (let i = 0; i < clients; i++) {
  const ws = new WebSocket(url);
  ws.on('open', () => {
    ws.send(JSON.stringify({ v: 1, type: 'subscribe' }));
    if (++open === clients) setTimeout(() => parentPort.postMessage({ type: 'ready' }), 100);
  });
  ws.on('message', (data) => {
    // Counted, not parsed: the figure is the server's, not JSON.parse's in the clients.
    const text = String(data);
    received += (text.match(/"seq":/g) || []).length;
    if (text.includes('"type":"run-end"') && ++done === clients) {
      parentPort.postMessage({ type: 'done', received, at: Date.now() });
    }
  });
}`;

/** Produces `eventCount` events as fast as the store takes them; `clients` sockets read them all. */
async function throughput(runsDir: string, clients: number, runId: string) {
  const hub = new Subject<RunEvent>();
  const server = await startServer({ runsDir, live$: hub, port: 0 });
  const worker = clients
    ? new Worker(CLIENTS_WORKER, {
        eval: true,
        workerData: { url: `ws://127.0.0.1:${server.port}/ws`, clients },
      })
    : null;
  const next = (type: string) =>
    new Promise<{ received: number; at: number }>((resolve, reject) => {
      worker?.on('message', (m: { type: string; received: number; at: number }) => {
        if (m.type === type) resolve(m);
      });
      worker?.on('error', reject);
    });
  const done = next('done');
  if (worker) await next('ready');
  const store = RunStore.create({ runsDir, runId, backend: 'bench', config: {}, hub });
  const t0 = Date.now();
  let n = 0;
  for (const e of syntheticRun({ runId, steps: eventCount, snapshotEvery: 100 })) {
    store.append(e);
    if (++n >= eventCount) break;
    if (n % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  const produced = Date.now() - t0;
  store.close('completed', n);
  const result = worker ? await Promise.race([done, sleep(60_000).then(() => null)]) : null;
  await worker?.terminate();
  await server.close();
  return {
    producedPerSec: n / (produced / 1000),
    deliveredPerSec: result ? result.received / ((result.at - t0) / 1000) : 0,
    complete: worker === null || result !== null,
  };
}

/**
 * Page load → the sweep panel drawn (every run's point in it, its chart updated) for a stored
 * sweep of `runs` synthetic runs: the first load (the server reads each log once for its
 * summary) and a second one (summaries cached).
 */
async function sweepOpen(runs: number) {
  if (!hasChromium) {
    console.log('sweep: skipped (/usr/bin/chromium is missing)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'pw-bench-sweep-'));
  const browser = await openBrowser();
  try {
    const ids = storeSyntheticSweep({ runsDir: dir, sweepId: 'bench', runs, steps: 1000 });
    // The server's share of a first load: every log read once (a separate cache; the server's own
    // is still cold below).
    const mb = ids.reduce((n, id) => n + statSync(join(dir, id, 'events.jsonl')).size, 0) / 2 ** 20;
    const t = performance.now();
    const summaries = new RunSummaries(dir);
    for (const id of ids) summaries.get(id);
    const buildMs = performance.now() - t;
    const server = await startServer({ runsDir: dir, live$: new Subject<RunEvent>(), port: 0 });
    try {
      const times: number[] = [];
      for (let load = 0; load < 2; load++) {
        const t0 = performance.now();
        await browser.page.goto(server.url);
        await browser.page.waitForFunction(
          (n) => {
            const app = document.querySelector('phasewatch-app');
            const view = app?.shadowRoot?.querySelector('sweep-view') as HTMLElement | null;
            const points = view?.dataset.points?.split(';').length ?? 0;
            return points === n && Number(view?.dataset.drawn ?? 0) > 0;
          },
          runs,
          { polling: 'raf', timeout: 120_000 },
        );
        times.push(performance.now() - t0);
      }
      console.log(
        `sweep  page load → sweep panel drawn, ${runs} stored runs of 1000 steps: ` +
          `first load ${fmt(times[0], 0)} ms (summaries built from the logs), ` +
          `second ${fmt(times[1], 0)} ms (goal < 1000 ms); the ${runs} summaries built from ` +
          `${fmt(mb, 1)} MB of logs in ${fmt(buildMs, 0)} ms`,
      );
    } finally {
      await server.close();
    }
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const runsDir = mkdtempSync(join(tmpdir(), 'pw-bench-live-'));
try {
  if (only === undefined || only === 'sweep') await sweepOpen(sweepRuns);
  if (only === undefined || only === 'latency') await latency(runsDir);
  if (only === undefined || only === 'throughput') {
    const ref = await throughput(runsDir, 0, 'reference');
    const many = await throughput(runsDir, clientCount, 'fanout');
    console.log(
      `throughput  ${eventCount} events, reference (no client): ${fmt(ref.producedPerSec, 0)} events/s produced`,
    );
    console.log(
      `throughput  ${clientCount} clients: ${fmt(many.producedPerSec, 0)} events/s produced ` +
        `(${fmt((100 * many.producedPerSec) / ref.producedPerSec, 0)}% of reference), ` +
        `${fmt(many.deliveredPerSec, 0)} events/s delivered in all` +
        `${many.complete ? '' : ' (INCOMPLETE: not every client got the last event within 60 s)'}`,
    );
  }
} finally {
  rmSync(runsDir, { recursive: true, force: true });
}
