import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from } from 'rxjs';
import { connect } from '../../../engine/server/connect.js';
import { createIngest, type Ingest } from '../../../engine/server/ingest.js';
import type { EventInput } from '../../../streams/events.js';
import { readRunEvents } from '../../../streams/replay.js';
import { bumpSnapshot } from './ingest-helpers.js';
import { freePort, startServe } from './serve-process.js';
import {
  noisySnapshot,
  syntheticRepresentation,
} from '../../operators/synthetic-representation.js';

describe('engine/server/connect', () => {
  let runsDir: string;
  let server: Server;
  let ingest: Ingest;
  let url: string;
  let requests: string[];

  beforeEach(async () => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-connect-'));
    ingest = createIngest({ runsDir, token: 'tok', assess: { embed: 'pca', confirm: 1 } });
    requests = [];
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url?.split('?')[0]}`);
      if (!ingest.handle(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/?token=tok`;
  });
  afterEach(async () => {
    ingest.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(runsDir, { recursive: true, force: true });
  });

  it("endNow says in one line when the run's end cannot reach the server", async () => {
    const errors: string[] = [];
    const run = connect(url, { onError: (e) => errors.push(e.message) }).run({ name: 'gone' });
    await run.runId;
    run.next({ type: 'metric', name: 'loss', value: 1, step: 1 });
    ingest.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    server.listen(0); // closed again by afterEach
    expect(run.endNow('failed', 'crashed', 5000)).to.equal(false);
    expect(errors).to.have.length(1);
    expect(errors[0], errors[0]).to.match(
      /^the run's end did not reach http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/,
    );
    expect(run.endNow('failed', 'again')).to.equal(false);
  });

  it('is an Observer: events of a stream are stored in order, in few requests, then completed', async () => {
    const run = connect(url).run({ name: 'ts loop', config: { lr: 0.01 } });
    const events: EventInput[] = Array.from({ length: 50 }, (_, i) => ({
      type: 'metric',
      name: 'loss',
      value: 1 / (i + 1),
      step: i,
    }));
    from(events).subscribe(run);
    const end = await run.done;
    const runId = await run.runId;
    expect(end).to.include({ runId, status: 'completed' });
    const stored = readRunEvents(join(runsDir, runId));
    expect(stored.map((e) => e.type)).to.deep.equal([
      'run-start',
      ...events.map(() => 'metric'),
      'run-end',
    ]);
    expect(stored.filter((e) => e.type === 'metric').map((e) => e.step)).to.deep.equal(
      events.map((e) => e.step),
    );
    expect(requests.filter((r) => r.endsWith('/events')).length).to.be.at.most(2);
  });

  it('uploads snapshots in order with the events; the server assesses them', async () => {
    const run = connect(url).run({ assess: { embed: 'pca' } });
    run.next({ type: 'step', loss: 0.3, examplesPerSec: 10, step: 10 });
    const s = bumpSnapshot(24, 8, 5);
    await run.snapshot(10, { ...s, sampleMs: 4 });
    run.next({ type: 'metric', name: 'after', value: 1, step: 11 });
    run.complete();
    const end = await run.done;
    const stored = readRunEvents(join(runsDir, await run.runId));
    const types = stored.map((e) => e.type);
    expect(types.indexOf('step')).to.be.below(types.indexOf('snapshot'));
    expect(types.indexOf('snapshot')).to.be.below(types.indexOf('assessment'));
    expect(stored.find((e) => e.type === 'snapshot')).to.include({
      count: 24,
      size: 8,
      dim: s.dim,
      sampleMs: 4,
    });
    expect(end.phase).to.be.oneOf(['A', 'B', 'C']);
  });

  it('error() ends the run failed with the message', async () => {
    const run = connect(url).run();
    run.next({ type: 'metric', name: 'a', value: 1, step: 1 });
    run.error(new Error('NaN loss'));
    expect(await run.done).to.include({ status: 'failed' });
    const stored = readRunEvents(join(runsDir, await run.runId));
    expect(stored[stored.length - 1]).to.include({
      type: 'run-end',
      status: 'failed',
      error: 'NaN loss',
    });
  });

  it('rejects done with the server’s one-line reason and reports it once', async () => {
    const errors: string[] = [];
    const run = connect(url, { onError: (e) => errors.push(e.message) }).run();
    run.next({ type: 'metric', name: 'a', value: 'high' as unknown as number, step: 1 });
    run.next({ type: 'metric', name: 'b', value: 2, step: 2 });
    run.complete();
    let caught: Error | undefined;
    await run.done.catch((e: Error) => (caught = e));
    expect(caught?.message).to.match(
      /\/events: 400 \[0\]\.value: Expected number, received string/,
    );
    expect(errors).to.have.length(1);
  });

  it('needs the token: from the URL, the option, or it fails with 401', async () => {
    const bare = url.replace('?token=tok', '');
    const errors: string[] = [];
    const bad = connect(bare, { token: 'nope', onError: (e) => errors.push(e.message) }).run();
    bad.complete();
    await bad.done.catch(() => undefined);
    expect(errors[0], errors[0]).to.match(/^\/api\/runs: 401 missing or wrong token/);
    const ok = connect(bare, { token: 'tok' }).run();
    ok.complete();
    expect(await ok.done).to.include({ status: 'completed' });
  });

  it('names a bad url', () => {
    expect(() => connect('localhost:4321')).to.throw(/url must be http/);
    expect(() => connect('not a url')).to.throw(/url must be an http\(s\) URL .*"not a url"/);
  });

  it('uploads representation snapshots of any model; the server assesses them by the generic rule', async () => {
    const run = connect(url).run({ name: 'ts any model', assess: { embed: 'pca', confirm: 1 } });
    const specs = [{ name: 'x' }, { name: 'class', classes: 3 }];
    const kinds = ['noise', 'scrambled', 'ordered'] as const;
    for (const [i, kind] of kinds.entries()) {
      const s = syntheticRepresentation(kind, specs, { seed: i + 1 });
      run.next({ type: 'metric', name: 'loss', value: 1 / (i + 1), step: i + 1 });
      await run.representation(i + 1, {
        activations: s.activations,
        dim: s.dim,
        factors: { x: s.factors!.x.values, class: s.factors!.class },
        samplesOk: new Float32Array(200).fill(1),
      });
    }
    run.complete();
    expect(await run.done).to.include({ status: 'completed', phase: 'C' });
    const stored = readRunEvents(join(runsDir, await run.runId));
    const assessed = stored.flatMap((e) => (e.type === 'assessment' ? [[e.phase, e.rule]] : []));
    expect(assessed).to.deep.equal([
      ['A', 'representation'],
      ['B', 'representation'],
      ['C', 'representation'],
    ]);
    const last = stored.filter((e) => e.type === 'assessment').pop();
    expect(last?.evidence['probe/class']).to.be.greaterThan(0.9);
  });

  it('sends noise levels with a representation snapshot: the server emits the probe curves', async () => {
    const run = connect(url).run({ assess: { embed: 'pca' } });
    const s = noisySnapshot();
    await run.representation(5, {
      activations: s.activations,
      dim: s.dim,
      factors: { class: s.factors!.class, x: s.factors!.x.values },
      noiseLevels: s.noiseLevels,
    });
    run.complete();
    await run.done;
    const stored = readRunEvents(join(runsDir, await run.runId));
    const curves = stored.flatMap((e) => (e.type === 'curve' ? [e.name] : []));
    expect(curves).to.deep.equal(['noise-probe/class', 'noise-probe/x']);
  });
});

describe('engine/server/connect against a server killed and restarted mid-run', function () {
  this.timeout(120_000);

  it('sends again what was in flight, re-opens the run, and stores every event once', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'pw-connect-kill-'));
    const port = await freePort();
    let server = await startServe(runsDir, port, 'tok');
    try {
      const run = connect(server.url, { retryForMs: 60_000 }).run({ name: 'killed' });
      const steps = 400;
      for (let step = 1; step <= steps; step++) {
        run.next({ type: 'metric', name: 'loss', value: 1 / step, step });
        if (step === 150) {
          await server.kill('SIGKILL');
          server = await startServe(runsDir, port, 'tok');
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      run.complete();
      const end = await run.done;
      expect(end).to.include({ status: 'completed' });
      const stored = readRunEvents(join(runsDir, await run.runId));
      expect(stored.filter((e) => e.type === 'metric').map((e) => e.step)).to.deep.equal(
        Array.from({ length: steps }, (_, i) => i + 1),
      );
      expect(stored.filter((e) => e.type === 'run-start')).to.have.length(2);
      expect(stored[stored.length - 1]).to.include({ type: 'run-end', status: 'completed' });
    } finally {
      await server.kill();
      rmSync(runsDir, { recursive: true, force: true });
    }
  });
});
