import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { WebSocket } from 'ws';
import {
  checkingIntervalMs,
  connectionLimits,
  DEFAULT_CONNECTION_LIMITS,
  limitsFromEnv,
} from '../../../engine/server/connection-limits.js';
import { startServer, type LiveServer } from '../../../engine/server/live-server.js';
import type { RunEvent } from '../../../streams/events.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw TCP client: what the server sent, and whether it closed the socket. */
interface Raw {
  socket: Socket;
  text(): string;
  closed: Promise<void>;
  isClosed(): boolean;
}

function open(port: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let closed = false;
    const done = new Promise<void>((r) =>
      socket.on('close', () => {
        closed = true;
        r();
      }),
    );
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('connect', () =>
      resolve({ socket, text: () => text, closed: done, isClosed: () => closed }),
    );
    socket.once('error', reject);
  });
}

/** Resolves when `pred` holds, polling; rejects after `ms`. */
async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}

describe('engine/server/connection-limits', () => {
  let runsDir: string;
  let server: LiveServer | undefined;
  const sockets: Socket[] = [];

  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-limits-'));
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await server?.close();
    server = undefined;
    rmSync(runsDir, { recursive: true, force: true });
  });

  const start = async (limits: Parameters<typeof connectionLimits>[0]) => {
    server = await startServer({ runsDir, live$: new Subject<RunEvent>(), port: 0, limits });
    return server;
  };
  const raw = async (port: number) => {
    const r = await open(port);
    sockets.push(r.socket);
    return r;
  };

  it('has production defaults, checks given limits in one line', () => {
    expect(DEFAULT_CONNECTION_LIMITS).to.deep.equal({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 300_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 512,
      maxConnectionsPerAddress: 128,
    });
    expect(checkingIntervalMs(DEFAULT_CONNECTION_LIMITS)).to.equal(1000);
    expect(checkingIntervalMs(connectionLimits({ headersTimeoutMs: 100 }))).to.equal(25);
    expect(() => connectionLimits({ maxConnections: 0 })).to.throw(
      /^maxConnections must be an integer >= 1 \(got 0\)$/,
    );
    expect(limitsFromEnv({ PHASEWATCH_REQUEST_TIMEOUT_MS: '600000', OTHER: 'x' })).to.deep.equal({
      requestTimeoutMs: 600_000,
    });
    expect(() => limitsFromEnv({ PHASEWATCH_MAX_CONNECTIONS: '1e3' })).to.throw(
      /^PHASEWATCH_MAX_CONNECTIONS must be an integer >= 1 \(got "1e3"\)$/,
    );
    expect(() => connectionLimits({ headersTimeoutMs: 2000, requestTimeoutMs: 1000 })).to.throw(
      /^headersTimeoutMs \(2000\) must be at most requestTimeoutMs \(1000\)$/,
    );
  });

  it('cuts a client that trickles its body slower than the request timeout (408), while others are served', async () => {
    const { port, url } = await start({ headersTimeoutMs: 200, requestTimeoutMs: 400 });
    const slow = await raw(port);
    slow.socket.write(
      'POST /api/runs HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n' +
        'content-length: 1000\r\n\r\n{',
    );
    // A byte every 50 ms: never idle, never done.
    const trickle = setInterval(() => {
      if (!slow.isClosed()) slow.socket.write(' ');
    }, 50);
    try {
      // A normal request meanwhile is answered.
      expect((await fetch(url)).status).to.equal(200);
      await until(slow.isClosed, 5000);
    } finally {
      clearInterval(trickle);
    }
    expect(slow.text()).to.match(/^HTTP\/1\.1 408 /);
    // Nothing of the cut request was acted on: no run was created.
    expect((await fetch(url)).status).to.equal(200);
  });

  it('cuts a client that trickles its headers slower than the header timeout', async () => {
    const { port } = await start({ headersTimeoutMs: 200, requestTimeoutMs: 400 });
    const slow = await raw(port);
    slow.socket.write('GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n');
    const trickle = setInterval(() => {
      if (!slow.isClosed()) slow.socket.write('x-a: b\r\n');
    }, 50);
    try {
      await until(slow.isClosed, 5000);
    } finally {
      clearInterval(trickle);
    }
    expect(slow.text()).to.match(/^(HTTP\/1\.1 408 |$)/);
  });

  it('does not cut an open dashboard socket, nor a kept-alive connection between requests', async () => {
    const s = await start({ headersTimeoutMs: 100, requestTimeoutMs: 200 });
    const ws = new WebSocket(s.url.replace('http', 'ws') + 'ws');
    let wsClosed = false;
    ws.on('close', () => (wsClosed = true));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    // A keep-alive connection that sends two requests, the second after a pause.
    const keep = await raw(s.port);
    keep.socket.write('GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    await until(() => /<\/html>/i.test(keep.text()));
    await sleep(600);
    expect(wsClosed, 'dashboard socket closed').to.equal(false);
    expect(ws.readyState).to.equal(WebSocket.OPEN);
    expect(keep.isClosed()).to.equal(false);
    keep.socket.write('GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n');
    await keep.closed;
    expect(keep.text().match(/HTTP\/1\.1 200 OK/g)).to.have.length(2);
    ws.close();
  });

  it('refuses a connection beyond the per-address cap with 503, and takes one again once another closes', async () => {
    const s = await start({ maxConnectionsPerAddress: 3 });
    const held = [await raw(s.port), await raw(s.port), await raw(s.port)];
    const extra = await raw(s.port);
    extra.socket.write('GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    await extra.closed;
    expect(extra.text()).to.match(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(extra.text()).to.include('retry-after: 1');
    expect(extra.text()).to.match(
      /\r\n\r\n3 connections from \S+ are open, the most one address may hold: try again later\n$/,
    );
    // One of the three goes: a normal request is served again.
    held[0].socket.destroy();
    await held[0].closed;
    await sleep(20);
    const again = await raw(s.port);
    again.socket.write('GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n');
    await again.closed;
    expect(again.text()).to.match(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it('refuses connections beyond the total cap, WebSocket upgrades included', async () => {
    const s = await start({ maxConnections: 2 });
    await raw(s.port);
    await raw(s.port);
    const ws = new WebSocket(s.url.replace('http', 'ws') + 'ws');
    const status = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
      ws.once('error', () => resolve(-1));
    });
    expect(status).to.equal(503);
    ws.terminate();
  });
});
