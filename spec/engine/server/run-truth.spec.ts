import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { WebSocket } from 'ws';
import { startServer, type LiveServer } from '../../../engine/server/live-server.js';
import { listRuns, readRunMeta } from '../../../engine/store/run-store.js';
import type { RunEvent, RunMeta } from '../../../streams/events.js';
import {
  isValidRunId,
  MAX_CLIENT_FRAME_BYTES,
  MAX_CLIENT_MESSAGE_BYTES,
  type ServerMessage,
} from '../../../streams/protocol.js';
import { startChild } from '../../faults/child.js';

/** Connects and collects messages; `until` waits for a predicate on them. */
async function client(port: number) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const messages: ServerMessage[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(String(d)) as ServerMessage));
  await new Promise((r) => ws.once('open', r));
  const until = async (pred: () => boolean, ms = 8000) => {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out: ${JSON.stringify(messages.slice(-2))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { ws, messages, until };
}

describe('live server: run ids, frame sizes, runs that died', () => {
  let base: string;
  let runsDir: string;
  let server: LiveServer | undefined;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'pw-truth-'));
    runsDir = join(base, 'runs');
    mkdirSync(runsDir);
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    rmSync(base, { recursive: true, force: true });
  });

  it('never serves a meta.json whose runId would climb out of the runs dir', async () => {
    // A log outside the runs dir, and a run whose meta.json points there.
    writeFileSync(join(base, 'events.jsonl'), '{"type":"step","runId":"..","seq":1,"step":1}\n');
    writeFileSync(join(base, 'meta.json'), JSON.stringify({ runId: '..', status: 'completed' }));
    mkdirSync(join(runsDir, 'evil'));
    const evil: Partial<RunMeta> = {
      runId: '..',
      createdAt: '',
      backend: 'x',
      config: {},
      status: 'completed',
    };
    writeFileSync(join(runsDir, 'evil', 'meta.json'), JSON.stringify(evil));
    mkdirSync(join(runsDir, 'other'));
    writeFileSync(
      join(runsDir, 'other', 'meta.json'),
      JSON.stringify({ ...evil, runId: 'elsewhere' }),
    );
    expect(() => readRunMeta(join(runsDir, 'evil'))).to.throw(
      /meta\.json: runId must be 1-200 letters, digits, '\.', '_' or '-', not starting with '\.' or '-' \(got "\.\."\)$/,
    );
    expect(listRuns(runsDir)).to.deep.equal([]);
    const bad = ['.', '..', '../x', 'a/b', '', 'x'.repeat(201), '.a', '-rf', '.hidden'];
    expect(bad.some(isValidRunId)).to.equal(false);
    expect(['a', '_a', 'a..b', 'a-', '20261201-101010-abcd'].every(isValidRunId)).to.equal(true);
    server = await startServer({ runsDir, live$: new Subject<RunEvent>(), port: 0 });
    const c = await client(server.port);
    c.ws.send(JSON.stringify({ v: 2, type: 'subscribe', runId: '..', sinceSeq: 0 }));
    c.ws.send(JSON.stringify({ v: 2, type: 'subscribe', sinceSeq: 0 }));
    await c.until(() => c.messages.some((m) => m.type === 'error'));
    await new Promise((r) => setTimeout(r, 200));
    const runs = c.messages.filter((m) => m.type === 'runs');
    expect(runs.every((m) => m.type === 'runs' && m.runs.length === 0)).to.equal(true);
    expect(c.messages.some((m) => m.type === 'event' || m.type === 'events')).to.equal(false);
    c.ws.terminate();
  });

  it('answers a replay of a run without a log with one line naming no server path', async () => {
    mkdirSync(join(runsDir, 'empty'));
    const meta: RunMeta = {
      runId: 'empty',
      createdAt: '',
      backend: 'x',
      config: {},
      status: 'completed',
    };
    writeFileSync(join(runsDir, 'empty', 'meta.json'), JSON.stringify(meta));
    server = await startServer({ runsDir, live$: new Subject<RunEvent>(), port: 0 });
    const c = await client(server.port);
    c.ws.send(JSON.stringify({ v: 2, type: 'subscribe', runId: 'empty', sinceSeq: 0 }));
    await c.until(() => c.messages.some((m) => m.type === 'error'));
    const error = c.messages.find((m) => m.type === 'error');
    expect(error).to.deep.include({
      message: 'replay of "empty": cannot read its events.jsonl (ENOENT)',
    });
    expect(c.ws.readyState).to.equal(WebSocket.OPEN);
    c.ws.terminate();
  });

  it('answers a message over 4 KiB with an error and keeps the socket; closes one over 64 KiB with 1009', async () => {
    server = await startServer({ runsDir, live$: new Subject<RunEvent>(), port: 0 });
    const c = await client(server.port);
    c.ws.send('x'.repeat(MAX_CLIENT_MESSAGE_BYTES + 1));
    await c.until(() => c.messages.some((m) => m.type === 'error'));
    expect(c.ws.readyState).to.equal(WebSocket.OPEN);
    const closed = new Promise<number>((r) => c.ws.once('close', (code) => r(code)));
    c.ws.send('x'.repeat(MAX_CLIENT_FRAME_BYTES + 1));
    expect(await closed).to.equal(1009);
  });

  it('shows a run whose writer was killed as interrupted, in meta.json, the catalogue and on the wire', async () => {
    const child = startChild({
      runsDir,
      runId: 'doomed',
      steps: 100,
      snapshotEvery: 20,
      mode: 'hold',
    });
    await child.printed('holding');
    server = await startServer({ runsDir, live$: new Subject<RunEvent>(), port: 0, rescanMs: 100 });
    const c = await client(server.port);
    const status = () => {
      const lists = c.messages.filter((m) => m.type === 'runs');
      const last = lists.at(-1);
      return last?.type === 'runs'
        ? last.runs.find((r) => r.runId === 'doomed')?.status
        : undefined;
    };
    await c.until(() => status() === 'running');
    child.proc.kill('SIGKILL');
    await child.exited;
    await c.until(() => status() === 'interrupted');
    // Recorded, so every reader agrees (the server took the dead writer's lock to write it).
    const raw = JSON.parse(readFileSync(join(runsDir, 'doomed', 'meta.json'), 'utf8')) as RunMeta;
    expect(raw.status).to.equal('interrupted');
    expect(raw.error).to.match(/^the writing process \(pid \d+\) ended without closing the run$/);
    expect(readRunMeta(join(runsDir, 'doomed')).status).to.equal('interrupted');
    expect(listRuns(runsDir)[0]).to.include({ status: 'interrupted' });
    c.ws.terminate();
  });
});
