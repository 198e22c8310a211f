import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { WebSocket } from 'ws';
import { startServer, type LiveServer } from '../../../engine/server/live-server.js';
import type { ServerMessage } from '../../../streams/protocol.js';
import { RunStore } from '../../../engine/store/run-store.js';
import { isLoopbackHost } from '../../../engine/server/host-check.js';
import { syntheticRun } from '../../../engine/server/synthetic-run.js';
import type { RunEvent, UnsequencedEvent } from '../../../streams/events.js';

/** A protocol client that records every message. */
class TestClient {
  readonly messages: ServerMessage[] = [];
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as ServerMessage);
      for (const w of this.waiters) w();
    });
  }

  static open(url: string): Promise<TestClient> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new TestClient(ws)));
      ws.once('error', reject);
    });
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Resolves when `pred` holds of the messages so far. */
  until(pred: (c: TestClient) => boolean, timeoutMs = 5000): Promise<void> {
    if (pred(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(
          new Error(
            `timed out; last messages: ${JSON.stringify(this.messages.slice(-3)).slice(0, 300)}`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        if (!pred(this)) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  events(runId?: string): RunEvent[] {
    return this.messages
      .flatMap((m) => (m.type === 'event' ? [m.event] : m.type === 'events' ? m.events : []))
      .filter((e) => runId === undefined || e.runId === runId);
  }

  of<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.messages.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.terminate();
    });
  }
}

const wsUrl = (server: LiveServer, token?: string) =>
  `ws://127.0.0.1:${server.port}/ws${token ? `?token=${token}` : ''}`;

const step = (n: number): UnsequencedEvent => ({
  type: 'step',
  runId: 'x',
  step: n,
  time: Date.now(),
  loss: 1 / n,
  examplesPerSec: 100,
});

const tick = () => new Promise((r) => setImmediate(r));

describe('live server', () => {
  let runsDir: string;
  let hub: Subject<RunEvent>;
  let server: LiveServer | undefined;
  const clients: TestClient[] = [];
  const connect = async (token?: string) => {
    const c = await TestClient.open(wsUrl(server!, token));
    clients.push(c);
    return c;
  };

  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-live-'));
    hub = new Subject<RunEvent>();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server?.close();
    server = undefined;
    rmSync(runsDir, { recursive: true, force: true });
  });

  it('serves the dashboard page and its bundle, and 404 for anything else', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0 });
    expect(server.url).to.equal(`http://127.0.0.1:${server.port}/`);
    const page = await fetch(server.url);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.contain('<phasewatch-app>');
    const app = await fetch(new URL('/app.js', server.url));
    expect(app.headers.get('content-type')).to.contain('javascript');
    expect((await app.arrayBuffer()).byteLength).to.be.greaterThan(10_000);
    expect((await fetch(new URL('/../package.json', server.url))).status).to.equal(404);
  });

  it('lists runs on connect and again when a run starts, changes phase and ends', async () => {
    RunStore.create({ runsDir, runId: 'old', backend: 'cpu', config: {} }).close('completed', 0);
    server = await startServer({ runsDir, live$: hub, port: 0 });
    const c = await connect();
    await c.until((c) => c.of('runs').length === 1);
    expect(c.of('runs')[0].runs.map((r) => r.runId)).to.deep.equal(['old']);
    const store = RunStore.create({ runsDir, runId: 'new', backend: 'cpu', config: {}, hub });
    for (const e of syntheticRun({ runId: 'new', steps: 40, snapshotEvery: 10 })) store.append(e);
    store.close('completed', 40);
    // run-start, phase A, phase B, phase C, run-end: coalesced, at most one list a frame.
    const ended = (c: TestClient) =>
      c.of('runs').some((m) => m.runs.some((r) => r.runId === 'new' && r.status === 'completed'));
    await c.until(ended);
    const last = c
      .of('runs')
      .at(-1)!
      .runs.find((r) => r.runId === 'new');
    expect(last).to.include({ status: 'completed', phase: 'C', lastStep: 40, backend: 'cpu' });
    expect(c.of('runs').length).to.be.within(2, 6);
  });

  it('replays from sinceSeq then streams live, with no gap or duplicate across a dropped socket', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0 });
    const store = RunStore.create({ runsDir, runId: 'r1', backend: 'cpu', config: {}, hub });
    let n = 0;
    for (; n < 100;) store.append(step(++n));
    // A producer that never stops while clients come and go.
    const producer = setInterval(() => {
      for (let k = 0; k < 5; k++) store.append(step(++n));
    }, 2);
    try {
      const seen: number[] = [];
      let since = 0;
      for (let round = 0; round < 4; round++) {
        const c = await connect();
        c.send({ v: 1, type: 'subscribe', runId: 'r1', sinceSeq: since });
        await c.until((c) => c.events('r1').length >= 60);
        const closed = new Promise((r) => c.ws.once('close', r));
        if (round % 2) server.disconnectAll();
        else c.ws.terminate();
        await closed;
        const got = c.events('r1').map((e) => e.seq);
        seen.push(...got);
        since = got[got.length - 1];
      }
      expect(seen.length).to.be.greaterThan(240);
      expect(seen).to.deep.equal(Array.from({ length: seen.length }, (_, i) => i + 1));
    } finally {
      clearInterval(producer);
      store.close('stopped', n);
    }
  });

  it('holds live events while a long replay goes out in chunks, then passes on only newer ones', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0 });
    const store = RunStore.create({ runsDir, runId: 'long', backend: 'cpu', config: {}, hub });
    let n = 0;
    while (n < 4500) store.append(step(++n));
    const c = await connect();
    // Appends land between the replay's chunks: each chunk waits a turn of the event loop.
    const producer = setInterval(() => store.append(step(++n)), 1);
    try {
      c.send({ v: 1, type: 'subscribe', runId: 'long', sinceSeq: 0 });
      await c.until((c) => c.events().length >= 4600, 10_000);
      const replayed = c.of('replayed')[0];
      expect(replayed.lastSeq).to.be.greaterThan(4499);
      const seqs = c.events().map((e) => e.seq);
      expect(seqs).to.deep.equal(Array.from({ length: seqs.length }, (_, i) => i + 1));
    } finally {
      clearInterval(producer);
      store.close('stopped', n);
    }
  });

  it('marks the end of a replay and streams live only without sinceSeq', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0 });
    const store = RunStore.create({ runsDir, runId: 'r1', backend: 'cpu', config: {}, hub });
    for (let i = 1; i <= 10; i++) store.append(step(i));
    const replaying = await connect();
    const liveOnly = await connect();
    replaying.send({ v: 1, type: 'subscribe', runId: 'r1', sinceSeq: 4 });
    liveOnly.send({ v: 1, type: 'subscribe', runId: 'r1' });
    await replaying.until((c) => c.of('replayed').length === 1);
    expect(replaying.of('replayed')[0]).to.include({ runId: 'r1', lastSeq: 10 });
    await tick();
    store.append(step(11));
    store.close('completed', 11);
    await replaying.until((c) => c.events().length === 8);
    await liveOnly.until((c) => c.events().length === 2);
    expect(replaying.events().map((e) => e.seq)).to.deep.equal([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(liveOnly.events().map((e) => e.type)).to.deep.equal(['step', 'run-end']);
  });

  it('follows every run without a runId, and stops after unsubscribe', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0 });
    const a = RunStore.create({ runsDir, runId: 'a', backend: 'cpu', config: {}, hub });
    const b = RunStore.create({ runsDir, runId: 'b', backend: 'cpu', config: {}, hub });
    a.append(step(1));
    const c = await connect();
    c.send({ v: 1, type: 'subscribe', sinceSeq: 0 });
    await c.until((c) => c.of('replayed').length === 2);
    b.append(step(1));
    await c.until((c) => c.events().length === 2);
    expect(c.events().map((e) => e.runId)).to.deep.equal(['a', 'b']);
    c.send({ v: 1, type: 'unsubscribe' });
    c.send({ v: 1, type: 'subscribe', runId: 'b' });
    await new Promise((r) => setTimeout(r, 30));
    a.append(step(2));
    b.append(step(2));
    await c.until((c) => c.events().length === 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.events().map((e) => `${e.runId}${e.seq}`)).to.deep.equal(['a1', 'b1', 'b2']);
  });

  it('answers malformed, oversized, binary and unknown messages with an error and carries on', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0 });
    RunStore.create({ runsDir, runId: 'r1', backend: 'cpu', config: {}, hub }).append(step(1));
    const c = await connect();
    const bad: Array<[unknown, RegExp]> = [
      ['{not json', /not valid JSON/],
      ['[1,2]', /JSON object/],
      [{ v: 3, type: 'subscribe' }, /version 3 \(expected 1 or 2\)/],
      [{ v: 1, type: 'launch-missiles' }, /unknown message type/],
      [{ v: 1, type: 'subscribe', runId: '../../etc' }, /runId/],
      [{ v: 1, type: 'subscribe', runId: 'r1', sinceSeq: -1 }, /sinceSeq/],
      [{ v: 1, type: 'subscribe', runId: 'nope', sinceSeq: 0 }, /unknown runId "nope"/],
      [JSON.stringify({ v: 1, type: 'subscribe', pad: 'x'.repeat(10_000) }), /too large/],
    ];
    for (const [msg] of bad) c.send(msg);
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await c.until((c) => c.of('error').length === bad.length + 1);
    const errors = c.of('error').map((m) => m.message);
    bad.forEach(([, re], i) => expect(errors[i]).to.match(re));
    expect(errors[bad.length]).to.match(/binary/);
    expect(errors.every((m) => !m.includes('\n'))).to.equal(true);
    c.send({ v: 1, type: 'subscribe', runId: 'r1', sinceSeq: 0 });
    await c.until((c) => c.events().length === 1);
    expect(c.ws.readyState).to.equal(WebSocket.OPEN);
  });

  it('requires the token on the page and the socket when one is set', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0, token: 's3cret' });
    expect(server.url).to.match(/\/\?token=s3cret$/);
    expect((await fetch(server.url)).status).to.equal(200);
    expect((await fetch(server.url.replace('s3cret', 'wrong'))).status).to.equal(401);
    expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).to.equal(401);
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl(server!, 'wrong'));
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('error', () => undefined);
    });
    expect(refused).to.equal(401);
    const ok = await connect('s3cret');
    await ok.until((c) => c.of('runs').length === 1);
  });

  it('refuses a host off loopback without a token, with a one-line error', async () => {
    const saved = process.env.PHASEWATCH_TOKEN;
    delete process.env.PHASEWATCH_TOKEN;
    try {
      let message = '';
      await startServer({ runsDir, live$: hub, port: 0, host: '0.0.0.0' }).catch(
        (e: Error) => (message = e.message),
      );
      expect(message).to.equal('--host 0.0.0.0 requires --token (or PHASEWATCH_TOKEN)');
    } finally {
      if (saved !== undefined) process.env.PHASEWATCH_TOKEN = saved;
    }
    expect(
      ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]'].map(isLoopbackHost),
    ).to.deep.equal([true, true, true, true, true]);
    expect(['0.0.0.0', '10.0.0.1', '::', 'example.org'].some(isLoopbackHost)).to.equal(false);
  });

  it('refuses sockets from another origin, and names other than loopback without a token', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0 });
    const refusal = (opts: { origin?: string; headers?: Record<string, string> }) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(wsUrl(server!), opts);
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('open', () => {
          resolve(101);
          ws.terminate();
        });
        ws.on('error', () => undefined);
      });
    expect(await refusal({ origin: 'http://evil.example' })).to.equal(403);
    // DNS rebinding: the attacker's own name, pointed at 127.0.0.1.
    const rebound = `evil.example:${server.port}`;
    expect(await refusal({ origin: `http://${rebound}`, headers: { host: rebound } })).to.equal(
      403,
    );
    expect(await refusal({ headers: { host: `localhost:${server.port}` } })).to.equal(101);
    const status = await new Promise<number>((resolve, reject) => {
      get(server!.url, { headers: { host: rebound } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(status).to.equal(403);
  });

  describe('backpressure', () => {
    // Heavy assessments fill a stalled client's socket buffers quickly.
    const produce = async (runId: string, steps: number, on = hub): Promise<number> => {
      const store = RunStore.create({ runsDir, runId, backend: 'cpu', config: {}, hub: on });
      const t0 = performance.now();
      let k = 0;
      for (const e of syntheticRun({ runId, steps, snapshotEvery: 10, points: 1000, thumbs: 8 })) {
        store.append(e);
        if (++k % 25 === 0) await tick();
      }
      const seconds = (performance.now() - t0) / 1000;
      store.close('completed', steps);
      return k / seconds;
    };

    it('a stalled client does not slow event production', async () => {
      server = await startServer({ runsDir, live$: hub, port: 0 });
      const stalled = await connect();
      stalled.send({ v: 1, type: 'subscribe' });
      await new Promise((r) => setTimeout(r, 30));
      stalled.ws.pause();
      // The same work on a hub no client follows, in alternate rounds so that load from
      // elsewhere on the machine hits both alike; best of three each.
      const quietHub = new Subject<RunEvent>();
      const quiet: number[] = [];
      const withStalled: number[] = [];
      for (let round = 0; round < 3; round++) {
        quiet.push(await produce(`quiet${round}`, 1000, quietHub));
        withStalled.push(await produce(`stalled${round}`, 1000));
      }
      // Generous: the point is that production never waits on the socket, not a timing race.
      expect(Math.max(...withStalled) / Math.max(...quiet)).to.be.greaterThan(0.5);
      expect(server.clients).to.equal(1);
    });

    it('bounds what a stalled client holds, tells it about dropped steps and catches it up', async () => {
      server = await startServer({ runsDir, live$: hub, port: 0, maxPendingSteps: 100 });
      const c = await connect();
      c.send({ v: 1, type: 'subscribe' });
      await new Promise((r) => setTimeout(r, 30));
      c.ws.pause();
      await produce('r1', 3000);
      c.ws.resume();
      await c.until((c) => c.events('r1').some((e) => e.type === 'run-end'), 20_000);
      const gaps = c.of('gap');
      expect(gaps.length).to.be.greaterThan(0);
      const seqs = c.events('r1').map((e) => e.seq);
      expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).to.equal(seqs.length);
      const dropped = gaps.reduce((n, g) => n + g.dropped, 0);
      const assessments = c.events('r1').filter((e) => e.type === 'assessment').length;
      // Every event arrived, was reported dropped, or was an assessment/snapshot coalesced away.
      expect(seqs.length + dropped).to.be.at.most(seqs[seqs.length - 1]);
      expect(assessments).to.be.lessThan(300);
      expect(c.events('r1').filter((e) => e.type === 'phase')).to.have.length(3);
    });
  });
});
