import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { startServer, type LiveServer } from '../../../engine/server/live-server.js';
import type { RunEvent } from '../../../streams/events.js';
import { readRunEvents } from '../../../streams/replay.js';
import { bumpSnapshot, npyBytes, request, type Reply } from './ingest-helpers.js';
import { freePort, startServe } from './serve-process.js';

const TOKEN = 'runs-tok';
const auth = { authorization: `Bearer ${TOKEN}` };

/** A snapshot body of N = 20 bumps of 8×8 (`.npy`, as numpy writes it). */
function snapshotBody(seed: number): Buffer {
  const s = bumpSnapshot(20, 8, seed);
  return Buffer.concat([
    npyBytes([20, 2], s.labels),
    npyBytes([20, 8, 8], s.images),
    npyBytes([20, s.dim], s.activations),
  ]);
}

/** Loss metrics of steps from..to, numbered step + shift by the client. */
const metrics = (from: number, to: number, shift = 0) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    type: 'metric',
    name: 'loss',
    value: 1 / (from + i),
    step: from + i,
    clientSeq: from + i + shift,
  }));

async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const end = Date.now() + 10_000;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('engine/server/ingest-runs: requests sent again, runs re-opened', function () {
  this.timeout(120_000);
  let runsDir: string;
  let server: LiveServer | undefined;

  const post = (path: string, body?: object | Buffer, headers: Record<string, string> = {}) =>
    request((server as LiveServer).port, 'POST', path, { body, headers: { ...auth, ...headers } });
  const postSnapshot = (runId: string, step: number, cseq: number, seed = step) =>
    post(`/api/runs/${runId}/snapshots?step=${step}&clientSeq=${cseq}`, snapshotBody(seed), {
      'content-type': 'application/x-npy',
    });
  const live = () =>
    startServer({ runsDir, live$: new Subject<RunEvent>(), port: 0, token: TOKEN }).then(
      (s) => (server = s),
    );

  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-ingest-runs-'));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    rmSync(runsDir, { recursive: true, force: true });
  });

  it('stores a batch sent again once: events at or below the highest clientSeq are dropped', async () => {
    await live();
    const runId = 'again';
    expect((await post('/api/runs', { runId })).status).to.equal(201);
    const first = await post(`/api/runs/${runId}/events`, metrics(1, 5));
    expect(first.json()).to.include({ appended: 5, duplicates: 0, clientSeq: 5 });
    // The answer was lost: the client sends 3..5 again with 6..8.
    const again = await post(`/api/runs/${runId}/events`, metrics(3, 8));
    expect(again.json()).to.include({ appended: 3, duplicates: 3, clientSeq: 8 });
    // Events with no clientSeq (curl) are stored as they come.
    const plain = await post(`/api/runs/${runId}/events`, {
      type: 'metric',
      name: 'x',
      value: 1,
      step: 8,
    });
    expect(plain.json()).to.include({ appended: 1, clientSeq: 8 });
    const bad = await post(`/api/runs/${runId}/events`, [...metrics(10, 11), ...metrics(9, 9)]);
    expect(bad.status).to.equal(400);
    expect(bad.text.trim()).to.equal(
      "[2].clientSeq: must be above the batch's earlier ones (got 9 after 11)",
    );
    const snap = await postSnapshot(runId, 10, 9);
    expect(snap.status, snap.text).to.equal(202);
    const dup = await postSnapshot(runId, 10, 9);
    expect(dup.status, dup.text).to.equal(202);
    expect(dup.json()).to.deep.include({
      step: 10,
      file: (snap.json() as { file: string }).file,
      duplicate: true,
    });
    const badSeq = await post(`/api/runs/${runId}/snapshots?step=20&clientSeq=x`, snapshotBody(1), {
      'content-type': 'application/x-npy',
    });
    expect(badSeq.status).to.equal(400);
    expect(badSeq.text.trim()).to.equal('clientSeq must be an integer >= 1 (got "x")');
    expect((await post(`/api/runs/${runId}/finish`)).status).to.equal(200);
    const events = readRunEvents(join(runsDir, runId));
    expect(
      events.filter((e) => e.type === 'metric' && e.name === 'loss').map((e) => e.step),
    ).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events.filter((e) => e.type === 'snapshot')).to.have.length(1);
    expect(events.filter((e) => e.type === 'assessment')).to.have.length(1);
  });

  it('re-opens a run whose server was SIGKILLed: numbering, snapshot step and assessments go on', async () => {
    // A real server, killed between a snapshot's event and its assessment's.
    const killed = await startServe(runsDir, await freePort(), TOKEN);
    const port = killed.port;
    const at = (path: string, body?: object | Buffer, headers: Record<string, string> = {}) =>
      request(port, 'POST', path, { body, headers: { ...auth, ...headers } });
    const runId = 'killed';
    expect(
      (await at('/api/runs', { runId, assess: { embed: 'pca', confirm: 1 } })).status,
    ).to.equal(201);
    expect((await at(`/api/runs/${runId}/events`, metrics(1, 10))).status).to.equal(200);
    const snap = await at(`/api/runs/${runId}/snapshots?step=10&clientSeq=11`, snapshotBody(10), {
      'content-type': 'application/x-npy',
    });
    expect(snap.status, snap.text).to.equal(202);
    await until(
      () => request(port, 'GET', `/api/runs/${runId}`, { headers: auth }),
      (r: Reply) => (r.json() as { assessing: number }).assessing === 0,
    );
    await killed.kill('SIGKILL');
    const log = join(runsDir, runId, 'events.jsonl');
    const lines = readFileSync(log, 'utf8').split('\n');
    const cut = lines.findIndex((l) => l.includes('"type":"snapshot"')) + 1;
    writeFileSync(log, lines.slice(0, cut).join('\n') + '\n');

    await live();
    const refused = await post(`/api/runs/${runId}/events`, metrics(11, 11));
    expect(refused.status).to.equal(409);
    expect(refused.headers['x-phasewatch-interrupted']).to.equal('1');
    expect(refused.text).to.match(/was interrupted .*POST \/api\/runs\/killed\/reopen to go on/);
    const reopened = await post(`/api/runs/${runId}/reopen`, {
      assess: { embed: 'pca', confirm: 1 },
    });
    expect(reopened.status, reopened.text).to.equal(200);
    expect(reopened.json()).to.include({
      runId,
      reopened: true,
      clientSeq: 11,
      lastStep: 10,
      lastSnapshotStep: 10,
    });
    // The snapshot the kill left unassessed is assessed now.
    await until(
      async () => readRunEvents(join(runsDir, runId)),
      (es) => es.some((e) => e.type === 'assessment'),
    );
    // The client sends again from 5 on; the snapshot had number 11.
    const resent = await post(`/api/runs/${runId}/events`, [
      ...metrics(5, 10),
      ...metrics(11, 15, 1),
    ]);
    expect(resent.json()).to.include({ appended: 5, duplicates: 6, clientSeq: 16 });
    const dup = await postSnapshot(runId, 10, 11);
    expect(dup.json()).to.deep.include({ step: 10, file: 'snapshots/10.bin', duplicate: true });
    expect((await postSnapshot(runId, 10, 17)).status).to.equal(409);
    expect((await post(`/api/runs/${runId}/reopen`)).json()).to.include({
      reopened: false,
      clientSeq: 16,
    });
    const fin = await post(`/api/runs/${runId}/finish`);
    expect(fin.json()).to.include({ status: 'completed', lastStep: 15 });
    const ended = await post(`/api/runs/${runId}/reopen`);
    expect(ended.status).to.equal(409);
    expect(ended.text.trim()).to.equal(`run ${runId} ended completed: it cannot be reopened`);
    expect((await post('/api/runs/nothing-here/reopen')).status).to.equal(404);

    const events = readRunEvents(join(runsDir, runId));
    expect(
      events.filter((e) => e.type === 'metric' && e.name === 'loss').map((e) => e.step),
    ).to.deep.equal(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(events.filter((e) => e.type === 'assessment').map((e) => e.step)).to.deep.equal([10]);
    expect(events.filter((e) => e.type === 'run-start').map((e) => e.step)).to.deep.equal([0, 10]);
    expect(events[events.length - 1]).to.include({ type: 'run-end', status: 'completed' });
  });
});
