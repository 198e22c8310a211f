import { expect } from 'chai';
import fsp from 'node:fs/promises';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { WebSocket } from 'ws';
import { startServer, type LiveServer } from '../../../engine/server/live-server.js';
import { syntheticRun } from '../../../engine/server/synthetic-run.js';
import { RunStore } from '../../../engine/store/run-store.js';
import type { RunEvent } from '../../../streams/events.js';
import type { ServerMessage } from '../../../streams/protocol.js';

/** Replays `runId` from the start; resolves with the seqs received and the error messages. */
async function replay(port: number, runId: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  await new Promise((r) => ws.once('open', r));
  const seqs: number[] = [];
  const errors: string[] = [];
  await new Promise<void>((resolve) => {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as ServerMessage;
      if (m.type === 'events') for (const e of m.events) seqs.push(e.seq);
      if (m.type === 'event') seqs.push(m.event.seq);
      if (m.type === 'error') errors.push(m.message);
      if (m.type === 'replayed') resolve();
    });
    ws.send(JSON.stringify({ v: 2, type: 'subscribe', runId, sinceSeq: 0 }));
  });
  ws.terminate();
  return { seqs, errors };
}

/** Bytes read from files named `events.jsonl` while `body` runs (fs/promises, as replays read). */
async function bytesRead<T>(body: () => Promise<T>): Promise<{ result: T; bytes: number }> {
  const real = fsp.open;
  let bytes = 0;
  (fsp as { open: unknown }).open = async (...args: Parameters<typeof real>) => {
    const handle = await real(...args);
    if (String(args[0]).endsWith('events.jsonl')) {
      const read = handle.read.bind(handle) as (...a: unknown[]) => Promise<{ bytesRead: number }>;
      (handle as { read: unknown }).read = async (...a: unknown[]) => {
        const r = await read(...a);
        bytes += r.bytesRead;
        return r;
      };
    }
    return handle;
  };
  syncBuiltinESMExports();
  try {
    return { result: await body(), bytes };
  } finally {
    (fsp as { open: unknown }).open = real;
    syncBuiltinESMExports();
  }
}

describe('engine/server/replay-cache: replays of one run share one read of its log', function () {
  this.timeout(60_000);
  let runsDir: string;
  let server: LiveServer | undefined;
  let total = 0;
  let logBytes = 0;

  before(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-replay-cache-'));
    const store = RunStore.create({ runsDir, runId: 'big', backend: 'cpu', config: {} });
    for (const e of syntheticRun({ runId: 'big', steps: 4000, snapshotEvery: 50, points: 300 })) {
      store.append(e);
    }
    total = store.close('completed', 4000)!.seq;
    logBytes = statSync(join(runsDir, 'big', 'events.jsonl')).size;
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  after(() => rmSync(runsDir, { recursive: true, force: true }));

  const start = (replayCacheBytes?: number) =>
    startServer({ runsDir, live$: new Subject<RunEvent>(), port: 0, replayCacheBytes }).then(
      (s) => (server = s),
    );
  const every = () => Array.from({ length: total }, (_, i) => i + 1);

  it('20 concurrent full replays read the log about once, and each gets every event in order', async () => {
    const s = await start();
    const { result, bytes } = await bytesRead(() =>
      Promise.all(Array.from({ length: 20 }, () => replay(s.port, 'big'))),
    );
    for (const r of result) {
      expect(r.errors).to.deep.equal([]);
      expect(r.seqs).to.deep.equal(every());
    }
    expect(bytes, `${bytes} bytes read of a ${logBytes}-byte log`).to.be.below(1.2 * logBytes);
    // Later replays read nothing more.
    const later = await bytesRead(() => replay(s.port, 'big'));
    expect(later.result.seqs).to.deep.equal(every());
    expect(later.bytes).to.be.below(1024);
  });

  it('with the cache off each replay reads the whole log (the path before)', async () => {
    const s = await start(0);
    const { result, bytes } = await bytesRead(() =>
      Promise.all(Array.from({ length: 5 }, () => replay(s.port, 'big'))),
    );
    for (const r of result) expect(r.seqs).to.deep.equal(every());
    expect(bytes).to.be.at.least(5 * logBytes);
  });

  it('a log bigger than the cache is held up to its budget, and replays read the rest themselves', async () => {
    const s = await start(300 * 1024);
    const results = await Promise.all(Array.from({ length: 4 }, () => replay(s.port, 'big')));
    for (const r of results) expect(r.seqs).to.deep.equal(every());
  });

  it('names PHASEWATCH_REPLAY_CACHE_MB and what it takes when it is not a number', async () => {
    process.env.PHASEWATCH_REPLAY_CACHE_MB = '64MB';
    try {
      const err = await start().then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).to.equal(
        'PHASEWATCH_REPLAY_CACHE_MB must be a number of MiB from 0 to 1048576 (got "64MB")',
      );
    } finally {
      delete process.env.PHASEWATCH_REPLAY_CACHE_MB;
    }
  });

  it('answers a fresh page request while 30 replays are going on; each replay gets every event', async () => {
    const s = await start();
    let finished = 0;
    const replays = Array.from({ length: 30 }, () =>
      replay(s.port, 'big').then((r) => {
        finished++;
        return r;
      }),
    );
    await new Promise((r) => setTimeout(r, 20));
    const page = await fetch(s.url);
    expect(page.status).to.equal(200);
    await page.text();
    expect(finished, 'replays done when the page came').to.be.below(30);
    // Replays that wait for a read another replay started (one read at a time) get it all.
    for (const r of await Promise.all(replays)) {
      expect(r.errors).to.deep.equal([]);
      expect(r.seqs).to.deep.equal(every());
    }
  });
});
