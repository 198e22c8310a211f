/**
 * An upload storm against the live server with a training-like loop in the same process
 * (issue 21, item 2): `uploads` snapshots of N samples (16x16 images, D = 4 activations,
 * `embed: pca`) posted at once, one to each of as many open runs, while the page is asked every 100 ms and a loop
 * does 1 ms of work a step, yielding between steps. Run once with the assessment on the
 * server's event loop (as before) and once on the worker pool.
 *
 *   npm run bench:storm -- [uploads=20] [N=5000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpHandler } from '../engine/server/http-handler.js';
import { createIngest } from '../engine/server/ingest.js';
import { assessSnapshot } from '../operators/metrics/assess-snapshot.js';

const uploads = Number(process.argv[2] ?? 20);
const n = Number(process.argv[3] ?? 5000);
const size = 16;
const dim = 4;

function npy(shape: number[], values: Float32Array): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(values.buffer)]);
}

function body(seed: number): Buffer {
  let s = seed;
  const rand = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const labels = new Float32Array(n * 2);
  const images = new Float32Array(n * size * size);
  const acts = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const x = 2 + rand() * (size - 5);
    const y = 2 + rand() * (size - 5);
    labels.set([x, y], 2 * i);
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        images[i * size * size + r * size + c] =
          2 * Math.exp(-((c - x) ** 2 + (r - y) ** 2) / 2) - 1;
      }
    }
    acts.set([x, y, x + y, x - y], i * dim);
  }
  return Buffer.concat([npy([n, 2], labels), npy([n, size, size], images), npy([n, dim], acts)]);
}

function post(port: number, path: string, data: Buffer | string, type: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': type } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(-1));
    req.end(data);
  });
}

async function trial(offThread: boolean) {
  const runsDir = mkdtempSync(join(tmpdir(), 'pw-storm-'));
  // The live server's ingest and page handlers; the "before" trial assesses on this thread.
  const ingest = createIngest({
    runsDir,
    maxPendingAssessments: uploads,
    ...(offThread ? {} : { assess: { assess: assessSnapshot } }),
  });
  const http = createServer(httpHandler(undefined, (req, res) => ingest.handle(req, res)));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  const server = { port, url: `http://127.0.0.1:${port}/` };
  const bodies = Array.from({ length: uploads }, (_, i) => body(i + 1));
  const runIds: string[] = [];
  for (let i = 0; i < uploads; i++) {
    const assess = { embed: 'pca', confirm: 1 };
    const r = await fetch(new URL('/api/runs', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ assess }),
    });
    runIds.push(((await r.json()) as { runId: string }).runId);
  }
  let steps = 0;
  let running = true;
  const loop = async () => {
    while (running) {
      const end = Date.now() + 1;
      while (Date.now() < end) {
        /* a training step's work */
      }
      steps++;
      await new Promise((r) => setImmediate(r));
    }
  };
  const looping = loop();
  const page: number[] = [];
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const t = performance.now();
      const ok = await fetch(server.url, { signal: AbortSignal.timeout(10_000) })
        .then((r) => r.text().then(() => r.status === 200))
        .catch(() => false);
      page.push(ok ? performance.now() - t : 10_000);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await new Promise((r) => setTimeout(r, 1000));
  const quietSteps = steps;
  const started = performance.now();
  const statuses = await Promise.all(
    runIds.map((id, i) =>
      post(server.port, `/api/runs/${id}/snapshots?step=1`, bodies[i], 'application/x-npy'),
    ),
  );
  // Every run finishes once its snapshot is assessed.
  await Promise.all(
    runIds.map((id) => post(server.port, `/api/runs/${id}/finish`, '', 'application/json')),
  );
  const seconds = (performance.now() - started) / 1000;
  const stormSteps = steps - quietSteps;
  running = false;
  polling = false;
  await looping;
  await poll;
  ingest.close();
  http.closeAllConnections();
  await new Promise<void>((r) => http.close(() => r()));
  rmSync(runsDir, { recursive: true, force: true });
  page.sort((a, b) => a - b);
  const count = (s: number) => statuses.filter((x) => x === s).length;
  return {
    offThread,
    uploads: { 202: count(202), 429: count(429), other: uploads - count(202) - count(429) },
    seconds: Math.round(seconds * 10) / 10,
    stepsPerSecQuiet: quietSteps,
    stepsPerSecDuringStorm: Math.round(stormSteps / seconds),
    pageMedianMs: Math.round(page[Math.floor(page.length / 2)]),
    pageP99Ms: Math.round(page[Math.min(page.length - 1, Math.floor(page.length * 0.99))]),
    pageRequests: page.length,
    rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
}

console.log(JSON.stringify(await trial(false)));
console.log(JSON.stringify(await trial(true)));
