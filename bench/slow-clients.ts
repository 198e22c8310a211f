/**
 * Slow clients against the live server (issue 21, item 3): N clients each open a connection,
 * send the headers of a POST with a 1 MB body and then trickle it a byte a second. Reports
 * how many the server took and refused (503 beyond the per-address cap), the server's file
 * handles, when they were cut (408 after the request timeout) and the page's latency meanwhile
 * (the page is asked from 127.0.0.1, the slow clients come from 127.0.0.2).
 *
 *   npm run bench:slow -- [clients=1000] [requestTimeoutMs=10000]
 *
 * The default request timeout (300 s) is shortened here so the run takes seconds.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { DEFAULT_CONNECTION_LIMITS } from '../engine/server/connection-limits.js';
import { startServer } from '../engine/server/live-server.js';
import type { RunEvent } from '../streams/events.js';

const clients = Number(process.argv[2] ?? 1000);
const requestTimeoutMs = Number(process.argv[3] ?? 10_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fds = () => readdirSync('/proc/self/fd').length;

const runsDir = mkdtempSync(join(tmpdir(), 'pw-slow-'));
const server = await startServer({
  runsDir,
  live$: new Subject<RunEvent>(),
  port: 0,
  limits: { requestTimeoutMs },
});
const base = fds();
let open = 0;
const replies = new Map<string, number>();
const sockets: Socket[] = [];
const started = Date.now();
for (let i = 0; i < clients; i++) {
  // From another loopback address than the page's: one remote host, as an attack would be.
  const s = connect({ port: server.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
  open++;
  let status = '';
  s.on('data', (d: Buffer) => {
    status ||= d.toString('latin1').split('\r\n')[0].split(' ')[1] ?? '?';
  });
  s.on('error', () => undefined);
  s.on('close', () => {
    open--;
    const key = status || 'closed';
    replies.set(key, (replies.get(key) ?? 0) + 1);
  });
  s.on('connect', () =>
    s.write(
      'POST /api/runs HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n' +
        'content-length: 1000000\r\n\r\n{',
    ),
  );
  sockets.push(s);
}
const trickle = setInterval(() => {
  for (const s of sockets) if (!s.destroyed) s.write(' ');
}, 1000);

const latencies: number[] = [];
let peakServerFds = 0;
const deadline = started + requestTimeoutMs + 5000;
while (Date.now() < deadline) {
  const t = Date.now();
  const r = await fetch(server.url).catch(() => undefined);
  if (r) await r.text();
  latencies.push(r?.status === 200 ? Date.now() - t : -1);
  // Our own client sockets are handles of this process too: count the server's alone.
  peakServerFds = Math.max(peakServerFds, fds() - base - open);
  await sleep(250);
}
clearInterval(trickle);
const cutAfterMs = Date.now() - started;
const failedPages = latencies.filter((l) => l < 0).length;
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
console.log(
  JSON.stringify({
    clients,
    limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs },
    replies: Object.fromEntries(replies),
    stillOpen: open,
    serverFdsBefore: base,
    serverFdsPeakAbove: peakServerFds,
    serverFdsAfterAbove: fds() - base - open,
    pageRequests: latencies.length,
    pageFailed: failedPages,
    pageMedianMs: pct(0.5),
    pageP99Ms: pct(0.99),
    seconds: cutAfterMs / 1000,
  }),
);
for (const s of sockets) s.destroy();
await server.close();
rmSync(runsDir, { recursive: true, force: true });
