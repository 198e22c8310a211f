import { expect } from 'chai';
import fs, { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createIngest, type Ingest, type IngestOptions } from '../../../engine/server/ingest.js';
import { readSnapshotArrays } from '../../../engine/store/run-store.js';
import type { RunEvent } from '../../../streams/events.js';
import { readRunEvents } from '../../../streams/replay.js';
import { bumpSnapshot, npyBytes, request } from './ingest-helpers.js';
import { twoMoons } from '../../operators/two-moons.js';

/** Polls `get` until `ok` holds of its value (5 s at most). */
async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!ok(await get())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('engine/server/ingest', () => {
  let runsDir: string;
  let server: Server;
  let ingest: Ingest;
  let port: number;
  let live: RunEvent[];

  async function start(opts: Partial<IngestOptions> = {}): Promise<void> {
    ingest = createIngest({ runsDir, assess: { embed: 'pca', confirm: 1 }, ...opts });
    live = [];
    ingest.events$.subscribe((e) => live.push(e));
    server = createServer((req, res) => {
      if (!ingest.handle(req, res)) res.writeHead(404).end('not api\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  }
  const post = (path: string, body?: object | string | Buffer, headers?: Record<string, string>) =>
    request(port, 'POST', path, { body, headers });
  const createRun = async (body: object = {}) => {
    const r = await post('/api/runs', body);
    expect(r.status, r.text).to.equal(201);
    return (r.json() as { runId: string }).runId;
  };
  const events = (runId: string) => readRunEvents(join(runsDir, runId));
  const npySnapshot = (snap: ReturnType<typeof bumpSnapshot>, n: number, size: number) =>
    Buffer.concat([
      npyBytes([n, 2], snap.labels, '<f8'),
      npyBytes([n, size, size], snap.images),
      npyBytes([n, snap.dim], snap.activations),
    ]);

  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-ingest-'));
  });
  afterEach(async () => {
    ingest.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(runsDir, { recursive: true, force: true });
  });

  it('leaves paths outside /api to the caller', async () => {
    await start();
    const r = await request(port, 'GET', '/app.js');
    expect([r.status, r.text]).to.deep.equal([404, 'not api\n']);
  });

  it('creates a run in the runs dir, with its name, config and a run-start event', async () => {
    await start();
    const runId = await createRun({
      name: 'torch run',
      config: { lr: 0.001 },
      tags: ['torch'],
      backend: 'torch',
    });
    const meta = JSON.parse(readFileSync(join(runsDir, runId, 'meta.json'), 'utf8'));
    expect(meta).to.include({ runId, name: 'torch run', backend: 'torch', status: 'running' });
    expect(meta.config).to.deep.equal({ lr: 0.001 });
    expect(events(runId).map((e) => e.type)).to.deep.equal(['run-start']);
    expect(live.map((e) => e.type)).to.deep.equal(['run-start']);
    expect(ingest.openRuns).to.deep.equal([runId]);
    const again = await post('/api/runs', { runId });
    expect(again.status).to.equal(409);
    expect(again.text).to.match(/already exists/);
  });

  it('appends events of every generic kind (one, an array, or {events}) in order, live', async () => {
    await start();
    const runId = await createRun();
    const batch = [
      { type: 'metric', name: 'loss', value: 0.5, step: 1, tags: { split: 'train' } },
      { type: 'curve', name: 'probe/t', x: [0, 1], y: [0.2, 0.4], step: 1 },
      { type: 'matrix', name: 'confusion', rows: 2, cols: 2, values: [1, 0, 0, 1], step: 1 },
      {
        type: 'embedding',
        name: 'emb',
        points: [0, 0, 0, 1, 1, 1],
        colourBy: { x: [0, 1] },
        step: 1,
      },
      {
        type: 'images',
        name: 'samples',
        size: 2,
        thumbs: [{ pixels: [0, 255, 0, 255], caption: 'a' }],
        step: 1,
      },
      { type: 'alert', level: 'warning', message: 'lr is high', step: 1 },
      { type: 'step', loss: 0.4, examplesPerSec: 1000, step: 2 },
    ];
    const r1 = await post(`/api/runs/${runId}/events`, batch);
    expect(r1.status, r1.text).to.equal(200);
    expect(r1.json()).to.include({ appended: 7, lastSeq: 8 });
    const r2 = await post(`/api/runs/${runId}/events`, {
      type: 'metric',
      name: 'acc',
      value: 1,
      step: 3,
    });
    expect(r2.json()).to.include({ appended: 1, lastSeq: 9 });
    const r3 = await post(`/api/runs/${runId}/events`, {
      events: [{ type: 'metric', name: 'acc', value: 2, step: 4, time: 5 }],
    });
    expect(r3.status).to.equal(200);
    const stored = events(runId);
    expect(stored.map((e) => e.type)).to.deep.equal([
      'run-start',
      'metric',
      'curve',
      'matrix',
      'embedding',
      'images',
      'alert',
      'step',
      'metric',
      'metric',
    ]);
    expect(stored.map((e) => e.seq)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(stored[1]).to.include({ runId, name: 'loss', value: 0.5, step: 1 });
    expect(stored[9].time).to.equal(5);
    expect(live).to.deep.equal(stored);
  });

  it('takes the points of an embedding as N rows [x, y, z] or flat, and stores them flat', async () => {
    await start();
    const runId = await createRun();
    const colourBy = { x: [0, 1] };
    const nested = {
      type: 'embedding',
      name: 'n',
      points: [
        [0, 1, 2],
        [3, 4, 5],
      ],
      colourBy,
      step: 1,
    };
    const flat = { type: 'embedding', name: 'f', points: [0, 1, 2, 3, 4, 5], colourBy, step: 1 };
    const r = await post(`/api/runs/${runId}/events`, [nested, flat]);
    expect(r.status, r.text).to.equal(200);
    const stored = events(runId).filter((e) => e.type === 'embedding');
    expect(stored.map((e) => (e as { points: number[] }).points)).to.deep.equal([
      [0, 1, 2, 3, 4, 5],
      [0, 1, 2, 3, 4, 5],
    ]);
  });

  it('answers bad events with a 400 naming the field and appends nothing of the batch', async () => {
    await start();
    const runId = await createRun();
    const cases: [unknown, RegExp][] = [
      [
        [
          { type: 'metric', name: 'a', value: 1, step: 1 },
          { type: 'metric', name: 'b', value: 'x', step: 1 },
        ],
        /^\[1\]\.value: Expected number, received string \(got "x"\)/,
      ],
      [
        { type: 'histogram', step: 1 },
        /^event\.type: must be one of metric, curve, matrix, embedding, images, alert, step \(got "histogram"\)/,
      ],
      [{ type: 'metric', name: 'a', value: 1 }, /^event\.step: Required \(got nothing\)/],
      [
        { type: 'metric', name: 'a', value: 1, step: -1 },
        /^event\.step: Number must be greater than or equal to 0/,
      ],
      [{ type: 'metric', name: 'a', value: 1, step: 1, seq: 3 }, /^event: unknown field "seq"/],
      [
        { events: [{ type: 'matrix', name: 'm', rows: 2, cols: 2, values: [1], step: 0 }] },
        /^events\[0\]\.values: must hold rows\*cols = 4 values/,
      ],
      [
        { type: 'curve', name: 'c', x: [1, 2], y: [1], step: 0 },
        /^event\.y: x and y must have the same length/,
      ],
      [
        { type: 'embedding', name: 'e', points: [0, 0, 0, 1, 1, 1], colourBy: { x: [1] }, step: 0 },
        /^event\.colourBy\.x: must hold N = 2 values/,
      ],
      [
        { type: 'embedding', name: 'e', points: [0, 0, 0, 1], colourBy: {}, step: 0 },
        /^event\.points: must be N×3 numbers: N rows \[x, y, z\] or a flat .* \(got 4 values\)/,
      ],
      [
        {
          type: 'embedding',
          name: 'e',
          points: [
            [0, 0, 0],
            [1, 1],
          ],
          colourBy: {},
          step: 0,
        },
        /^event\.points\[1\]: must be N×3 numbers: .*; row 1 is not 3 finite numbers \(got \[1,1\]\)/,
      ],
      [
        { type: 'images', name: 'i', size: 2, thumbs: [{ pixels: [0, 1, 2] }], step: 0 },
        /^event\.thumbs\[0\]\.pixels: must hold size\*size = 4/,
      ],
      [
        { type: 'alert', level: 'fatal', message: 'x', step: 0 },
        /^event\.level: Invalid enum value/,
      ],
      [{ events: 3 }, /^events: must be an array/],
      [null, /^event: must be an object with a type \(got null\)/],
    ];
    for (const [body, message] of cases) {
      const r = await post(`/api/runs/${runId}/events`, JSON.stringify(body), {
        'content-type': 'application/json',
      });
      expect(r.status, JSON.stringify(body)).to.equal(400);
      expect(r.text.split('\n')).to.have.length(2);
      expect(r.text, JSON.stringify(body)).to.match(message);
    }
    expect(events(runId).map((e) => e.type)).to.deep.equal(['run-start']);
  });

  it('answers bad requests with 4xx and a one-line reason', async () => {
    await start({ maxJsonBytes: 200 });
    const runId = await createRun();
    const cases: [Promise<{ status: number; text: string }>, number, RegExp][] = [
      [
        post(`/api/runs/${runId}/events`, '{"type":', { 'content-type': 'application/json' }),
        400,
        /^body is not valid JSON/,
      ],
      [
        post(`/api/runs/${runId}/events`, '{}', { 'content-type': 'text/plain' }),
        415,
        /^content-type must be application\/json \(got "text\/plain"\)/,
      ],
      [
        post(`/api/runs/${runId}/events`, {
          type: 'alert',
          level: 'info',
          message: 'x'.repeat(300),
          step: 0,
        }),
        413,
        /over the limit of 200/,
      ],
      [
        post('/api/runs/nope/events', { type: 'metric', name: 'a', value: 1, step: 1 }),
        404,
        /^no run "nope" \(create one with POST \/api\/runs\)/,
      ],
      [post('/api/runs', { runId: '../x' }), 400, /^runId must be/],
      [
        post('/api/runs', { name: 3 }),
        400,
        /^body\.name: Expected string, received number \(got 3\)/,
      ],
      [
        post('/api/runs', { assess: { embed: 'tsne' } }),
        400,
        /^body\.assess\.embed: Invalid enum value/,
      ],
      [post('/api/runs', { colour: 'red' }), 400, /^body: unknown field "colour"/],
      [
        request(port, 'GET', `/api/runs/${runId}/events`),
        405,
        /^GET .* is not allowed \(use POST\)/,
      ],
      [request(port, 'DELETE', '/api/runs'), 405, /not allowed/],
      [post('/api/jobs', {}), 404, /^no endpoint \/api\/jobs/],
      [post('/api/runs/%zz/events', {}), 400, /percent-encoding/],
      [
        post(`/api/runs/${runId}/finish`, { status: 'done' }),
        400,
        /^body\.status: Invalid enum value/,
      ],
    ];
    for (const [reply, status, message] of cases) {
      const r = await reply;
      expect(r.status, r.text).to.equal(status);
      expect(r.text).to.match(message);
      expect(r.text.trimEnd().includes('\n')).to.equal(false);
    }
    expect(events(runId).map((e) => e.type)).to.deep.equal(['run-start']);
  });

  it('keeps the server token rules: token by header or query, loopback Host, same Origin', async () => {
    await start({ token: 's3cret' });
    const body = JSON.stringify({ name: 'x' });
    const json = { 'content-type': 'application/json' };
    expect((await post('/api/runs', body, json)).status).to.equal(401);
    expect(
      (await post('/api/runs', body, { ...json, authorization: 'Bearer wrong' })).status,
    ).to.equal(401);
    expect(
      (await post('/api/runs', body, { ...json, authorization: 'Bearer s3cret' })).status,
    ).to.equal(201);
    expect((await post('/api/runs?token=s3cret', body, json)).status).to.equal(201);
    const cross = await post('/api/runs?token=s3cret', body, {
      ...json,
      origin: 'http://evil.example',
    });
    expect(cross.status).to.equal(403);
    expect(cross.text).to.match(/^forbidden origin http:\/\/evil.example/);
  });

  it('edits a stored run’s labels as `phasewatch edit` does, under the same token rules', async () => {
    const edited: string[] = [];
    await start({ token: 's3cret', onLabels: (m) => edited.push(m.runId) });
    const auth = { authorization: 'Bearer s3cret' };
    const runId = (
      (await post('/api/runs', { name: 'first', notes: 'kept' }, auth)).json() as { runId: string }
    ).runId;
    const patch = (id: string, body: unknown, headers: Record<string, string> = auth) =>
      request(port, 'PATCH', `/api/runs/${id}/labels`, { body: body as object, headers });
    expect((await patch(runId, { tags: ['a'] }, {})).status).to.equal(401);
    const ok = await patch(runId, { tags: ['baseline', 'dx2'], name: 'second' });
    expect(ok.status, ok.text).to.equal(200);
    expect(edited).to.deep.equal([runId]);
    // labels.json, as the CLI writes it; what was not sent is kept
    const labels = JSON.parse(readFileSync(join(runsDir, runId, 'labels.json'), 'utf8'));
    expect(labels).to.deep.include({ name: 'second', tags: ['baseline', 'dx2'] });
    expect(ok.json()).to.deep.include({ name: 'second', notes: 'kept', tags: ['baseline', 'dx2'] });
    for (const [id, body, status, message] of [
      [runId, { tags: ['has space'] }, 400, /^tags must be a list of at most 50 words/],
      [runId, { colour: 'red' }, 400, /^unknown label "colour" \(accepted: name, tags, notes\)/],
      [runId, ['x'], 400, /^labels must be an object/],
      ['nope', { tags: [] }, 404, /^no run "nope"/],
      ['..', { tags: [] }, 404, /^no run/],
    ] as const) {
      const r = await patch(id, body);
      expect([r.status, id], r.text).to.deep.equal([status, id]);
      expect(r.text).to.match(message);
      expect(r.text.trimEnd().includes('\n')).to.equal(false);
    }
    // a refused edit changes nothing
    expect(JSON.parse(readFileSync(join(runsDir, runId, 'labels.json'), 'utf8'))).to.deep.equal(
      labels,
    );
    expect(edited).to.have.length(1);
  });

  it('without a token, refuses a Host that is not loopback (DNS rebinding)', async () => {
    await start();
    const r = await post('/api/runs', { name: 'x' }, { host: 'evil.example:4321' });
    expect([r.status, r.text]).to.deep.equal([403, 'forbidden host\n']);
    expect((await post('/api/runs', { name: 'x' }, { host: `localhost:${port}` })).status).to.equal(
      201,
    );
  });

  it('stores an .npy snapshot, assesses its phase live and reports it at finish', async () => {
    await start();
    const runId = await createRun({ name: 'bumps' });
    const n = 40;
    const size = 12;
    const good = bumpSnapshot(n, size, 7);
    const r = await post(
      `/api/runs/${runId}/snapshots?step=100&sampleMs=12`,
      npySnapshot(good, n, size),
      {
        'content-type': 'application/x-npy',
      },
    );
    expect(r.status, r.text).to.equal(202);
    expect(r.json()).to.deep.equal({
      step: 100,
      file: 'snapshots/100.bin',
      count: n,
      size,
      dim: 6,
    });
    const stored = readSnapshotArrays(join(runsDir, runId, 'snapshots', '100.bin'));
    expect(Array.from(stored.labels)).to.deep.equal(Array.from(good.labels));
    expect(Array.from(stored.activations)).to.deep.equal(Array.from(good.activations));
    const noisy = bumpSnapshot(n, size, 8, true);
    const r2 = await post(`/api/runs/${runId}/snapshots?step=200`, npySnapshot(noisy, n, size), {
      'content-type': 'application/x-npy',
    });
    expect(r2.status, r2.text).to.equal(202);
    const fin = await post(`/api/runs/${runId}/finish`);
    expect(fin.status, fin.text).to.equal(200);
    const got = fin.json() as { status: string; phase: string };
    expect(got.status).to.equal('completed');
    const all = events(runId);
    const assessments = all.filter((e) => e.type === 'assessment');
    expect(assessments.map((e) => e.step)).to.deep.equal([100, 200]);
    const [a1, a2] = assessments as Extract<RunEvent, { type: 'assessment' }>[];
    expect(a1.accuracy).to.equal(1);
    expect(a1.bumps.one).to.equal(1);
    expect(a1.samples).to.have.length(16);
    expect(a1.embedding).to.have.length(n * 3);
    expect(a2.accuracy).to.be.below(0.2);
    expect(a2.phase).to.equal('A');
    expect(got.phase).to.equal('A');
    const phases = all.filter((e) => e.type === 'phase').map((e) => (e as { to: string }).to);
    expect(phases[0]).to.equal(a1.phase);
    expect(phases[phases.length - 1]).to.equal('A');
    expect(
      all.some((e) => e.type === 'metric' && e.name === 'phase/accuracy' && e.step === 100),
    ).to.equal(true);
    expect(all[all.length - 1]).to.include({ type: 'run-end', status: 'completed', step: 200 });
    expect(all.find((e) => e.type === 'snapshot')).to.include({
      step: 100,
      count: n,
      size,
      dim: 6,
      sampleMs: 12,
    });
    expect(live.map((e) => e.seq)).to.deep.equal(all.map((e) => e.seq));
    const after = await post(`/api/runs/${runId}/events`, {
      type: 'metric',
      name: 'a',
      value: 1,
      step: 1,
    });
    expect(after.status).to.equal(409);
    expect(after.text).to.match(/not open for ingest/);
    const status = await request(port, 'GET', `/api/runs/${runId}`);
    expect(status.json()).to.include({ runId, status: 'completed', open: false });
  });

  it('says at upload when a snapshot is not bump images, and withholds its phase', async () => {
    await start();
    const runId = await createRun({ name: 'moons', assess: { embed: 'pca', confirm: 1 } });
    const moons = twoMoons();
    const n = moons.labels.length / 2;
    const r = await post(
      `/api/runs/${runId}/snapshots?step=10`,
      Buffer.concat([
        npyBytes([n, 2], moons.labels),
        npyBytes([n, 16, 16], moons.images),
        npyBytes([n, moons.dim], moons.activations),
      ]),
      { 'content-type': 'application/x-npy' },
    );
    expect(r.status, r.text).to.equal(202);
    expect((r.json() as { warning: string }).warning).to.match(
      /^phase will not be judged: only \d+% of the one-blob images hold a compact Gaussian-like bump/,
    );
    const fin = await post(`/api/runs/${runId}/finish`);
    expect(fin.json()).to.include({ status: 'completed', phase: null });
    const all = events(runId);
    const a = all.find((e) => e.type === 'assessment') as Extract<RunEvent, { type: 'assessment' }>;
    expect(a.rawPhase).to.equal('C');
    expect(a.warning).to.match(/^phase not judged: /);
    expect(a.evidence.inputOk).to.equal(0);
    expect(all.filter((e) => e.type === 'phase')).to.have.length(0);
    expect(all.find((e) => e.type === 'alert')).to.include({ level: 'warning', step: 10 });
  });

  it('takes raw float32 with a shape header, and checks shapes against each other', async () => {
    await start();
    const runId = await createRun();
    const n = 20;
    const size = 8;
    const s = bumpSnapshot(n, size, 3);
    const raw = Buffer.concat(
      [s.labels, s.images, s.activations].map((a) => Buffer.from(a.buffer)),
    );
    const shapes = `labels=${n}x2; images=${n}x1x${size}x${size}; activations=${n}x${s.dim}`;
    const headers = { 'content-type': 'application/octet-stream', 'x-phasewatch-shapes': shapes };
    const ok = await post(`/api/runs/${runId}/snapshots?step=5`, raw, headers);
    expect(ok.status, ok.text).to.equal(202);
    expect(ok.json()).to.include({ count: n, size, dim: s.dim });
    const bad: [string, Buffer, Record<string, string>, number, RegExp][] = [
      [
        '?step=6',
        raw.subarray(4),
        headers,
        400,
        /^body has \d+ bytes, the shapes .* need \d+ \(float32\)/,
      ],
      [
        '?step=6',
        raw,
        { ...headers, 'x-phasewatch-shapes': 'labels=20x2; images=20x64' },
        400,
        /must name labels, images and activations/,
      ],
      [
        '?step=6',
        raw,
        { ...headers, 'x-phasewatch-shapes': 'labels=20by2' },
        400,
        /is not name=AxBx/,
      ],
      [
        '?step=6',
        raw,
        { 'content-type': 'application/octet-stream' },
        400,
        /x-phasewatch-shapes header is missing/,
      ],
      [
        '?step=6',
        raw,
        {
          ...headers,
          'x-phasewatch-shapes': `labels=${n}x2; images=${n}x${size * size - 4}x1; activations=${n}x${s.dim + 4}`,
        },
        400,
        /images must be square: 60 values/,
      ],
      [
        '?step=6',
        raw,
        {
          ...headers,
          'x-phasewatch-shapes': `labels=${n / 2}x4; images=${n}x${size}x${size}; activations=${n}x${s.dim}`,
        },
        400,
        /labels must have shape \(N, 2\) with N >= 1: the x and y of each sample in pixels \(got \(10, 4\)\)/,
      ],
      ['?step=5', raw, headers, 409, /step must be above the run's last snapshot step 5 \(got 5\)/],
      ['', raw, headers, 400, /^step must be an integer >= 0 in the query \(got null\)/],
      ['?step=1.5', raw, headers, 400, /got "1.5"/],
      [
        '?step=6',
        raw,
        { 'content-type': 'image/png' },
        415,
        /^content-type must be application\/x-npy or application\/octet-stream/,
      ],
      [
        '?step=6',
        Buffer.from('not npy at all'),
        { 'content-type': 'application/x-npy' },
        400,
        /^labels: not a \.npy array/,
      ],
      [
        '?step=6',
        Buffer.concat([npySnapshot(s, n, size), Buffer.alloc(8)]),
        { 'content-type': 'application/x-npy' },
        400,
        /8 bytes after the third array/,
      ],
    ];
    for (const [query, body, h, status, message] of bad) {
      const r = await post(`/api/runs/${runId}/snapshots${query}`, body, h);
      expect(r.status, `${query} ${r.text}`).to.equal(status);
      expect(r.text, query).to.match(message);
    }
    const nan = Float32Array.from(s.activations);
    nan[3] = NaN;
    const withNan = Buffer.concat([s.labels, s.images, nan].map((a) => Buffer.from(a.buffer)));
    const r = await post(`/api/runs/${runId}/snapshots?step=9`, withNan, headers);
    expect([r.status, r.text]).to.deep.equal([
      400,
      'activations holds a non-finite value at flat index 3 (NaN)\n',
    ]);
    expect(events(runId).filter((e) => e.type === 'snapshot')).to.have.length(1);
  });

  it('refuses a snapshot over the size limit with 413 before storing anything', async () => {
    await start({ maxSnapshotBytes: 1000 });
    const runId = await createRun();
    const s = bumpSnapshot(20, 8, 1);
    const r = await post(`/api/runs/${runId}/snapshots?step=1`, npySnapshot(s, 20, 8), {
      'content-type': 'application/x-npy',
    });
    expect(r.status).to.equal(413);
    expect(r.text).to.match(/^body of \d+ bytes is over the limit of 1000\n$/);
    expect(existsSync(join(runsDir, runId, 'snapshots', '1.bin'))).to.equal(false);
  });

  it('a snapshot the disk has no room for: 507, the run ends failed with the reason, nothing left, the server goes on', async () => {
    await start();
    const runId = await createRun();
    const dir = join(runsDir, runId);
    const s = bumpSnapshot(20, 8, 1);
    const real = fs.writeFileSync;
    // No room for the snapshot's file; room again once the run gives its reserve back.
    (fs as Record<string, unknown>).writeFileSync = (file: string, data: Uint8Array) => {
      if (!String(file).includes('snapshots') || !existsSync(join(dir, '.reserve'))) {
        return real(file, data);
      }
      real(file, data.subarray(0, 10));
      const err: NodeJS.ErrnoException = new Error('ENOSPC: no space left on device, write');
      err.code = 'ENOSPC';
      throw err;
    };
    syncBuiltinESMExports();
    let r;
    try {
      r = await post(`/api/runs/${runId}/snapshots?step=1`, npySnapshot(s, 20, 8), {
        'content-type': 'application/x-npy',
      });
    } finally {
      (fs as Record<string, unknown>).writeFileSync = real;
      syncBuiltinESMExports();
    }
    const reason = 'snapshot at step 1: no space left on device (ENOSPC)';
    expect(r.status, r.text).to.equal(507);
    expect(r.text).to.equal(`cannot store the snapshot: ${reason} (the run ended failed)\n`);
    expect(readdirSync(join(dir, 'snapshots'))).to.deep.equal([]);
    expect(
      readdirSync(dir).filter((f) => /\.tmp-|^\.reserve$|^writer\.lock$/.test(f)),
    ).to.deep.equal([]);
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    expect(meta).to.include({ status: 'failed', error: reason });
    expect(events(runId).at(-1)).to.include({ type: 'run-end', status: 'failed', error: reason });
    const again = await post(`/api/runs/${runId}/events`, {
      type: 'metric',
      name: 'a',
      value: 1,
      step: 2,
    });
    expect(again.status).to.equal(409);
    expect(again.text).to.include(reason);
    // The server takes other runs as before.
    const other = await createRun();
    expect(other).not.to.equal(runId);
  });

  it('refuses an upload with 429 and retry-after while the most snapshots wait for assessment', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    await start({
      maxPendingAssessments: 2,
      assess: {
        embed: 'pca',
        confirm: 1,
        assess: async (s, o) => {
          await gate;
          const { assessSnapshot } = await import('../../../operators/metrics/assess-snapshot.js');
          return assessSnapshot(s, o);
        },
      },
    });
    const runId = await createRun();
    const upload = (step: number) =>
      post(
        `/api/runs/${runId}/snapshots?step=${step}`,
        npySnapshot(bumpSnapshot(20, 8, step), 20, 8),
        {
          'content-type': 'application/x-npy',
        },
      );
    expect((await upload(1)).status).to.equal(202);
    expect((await upload(2)).status).to.equal(202);
    const busy = await upload(3);
    expect(busy.status).to.equal(429);
    expect(busy.headers['retry-after']).to.match(/^\d+$/);
    expect(busy.text).to.equal(
      '2 snapshots are waiting for their assessment, the most this server holds: try again later\n',
    );
    expect(existsSync(join(runsDir, runId, 'snapshots', '3.bin'))).to.equal(false);
    release();
    await until(
      async () =>
        (await request(port, 'GET', `/api/runs/${runId}`)).json() as { assessing: number },
      (j) => j.assessing === 0,
    );
    expect((await upload(3)).status).to.equal(202);
  });

  it('refuses a snapshot of more samples or activation dimensions than the limits with 413', async () => {
    await start({ maxSamples: 10, maxDim: 4 });
    const runId = await createRun();
    const many = await post(
      `/api/runs/${runId}/snapshots?step=1`,
      npySnapshot(bumpSnapshot(11, 8, 1), 11, 8),
      {
        'content-type': 'application/x-npy',
      },
    );
    expect(many.status).to.equal(413);
    expect(many.text).to.equal('snapshot of 11 samples is over the limit of 10\n');
    const wide = await post(
      `/api/runs/${runId}/snapshots?step=2`,
      npySnapshot(bumpSnapshot(10, 8, 1), 10, 8),
      {
        'content-type': 'application/x-npy',
      },
    );
    expect(wide.status).to.equal(413);
    expect(wide.text).to.equal('snapshot activations of 6 dimensions are over the limit of 4\n');
    expect(readdirSync(join(runsDir, runId, 'snapshots'))).to.deep.equal([]);
  });

  it('a snapshot that cannot be assessed raises an alert and the next one is assessed', async () => {
    await start({
      assess: {
        embed: 'pca',
        confirm: 1,
        assess: async (s, o) => {
          if (s.step === 1) throw new Error('no can do');
          const { assessSnapshot } = await import('../../../operators/metrics/assess-snapshot.js');
          return assessSnapshot(s, o);
        },
      },
    });
    const runId = await createRun();
    for (const step of [1, 2]) {
      const s = bumpSnapshot(20, 8, step);
      const r = await post(`/api/runs/${runId}/snapshots?step=${step}`, npySnapshot(s, 20, 8), {
        'content-type': 'application/x-npy',
      });
      expect(r.status).to.equal(202);
    }
    expect((await post(`/api/runs/${runId}/finish`)).status).to.equal(200);
    const all = events(runId);
    expect(all.find((e) => e.type === 'alert')).to.include({
      level: 'error',
      message: 'assessment failed: no can do',
      step: 1,
    });
    expect(all.filter((e) => e.type === 'assessment').map((e) => e.step)).to.deep.equal([2]);
  });

  for (const [how, fail] of [
    ['rejects', () => Promise.reject(new Error('no can do'))],
    ['returns no assessment', () => Promise.resolve(null)],
  ] as const) {
    it(`an assessment that ${how} between two does not report the first phase again`, async () => {
      const { assessSnapshot } = await import('../../../operators/metrics/assess-snapshot.js');
      await start({
        assess: {
          embed: 'pca',
          confirm: 1,
          assess: (s, o) => (s.step === 2 ? (fail() as never) : assessSnapshot(s, o)),
        },
      });
      const runId = await createRun();
      for (const step of [1, 2, 3]) {
        const s = bumpSnapshot(20, 8, step, true);
        const r = await post(`/api/runs/${runId}/snapshots?step=${step}`, npySnapshot(s, 20, 8), {
          'content-type': 'application/x-npy',
        });
        expect(r.status, r.text).to.equal(202);
      }
      expect((await post(`/api/runs/${runId}/finish`)).status).to.equal(200);
      const all = events(runId);
      expect(all.filter((e) => e.type === 'assessment').map((e) => e.step)).to.deep.equal([1, 3]);
      expect(all.filter((e) => e.type === 'alert').map((e) => [e.step, e.level])).to.deep.equal([
        [2, 'error'],
      ]);
      const phases = all.filter((e) => e.type === 'phase');
      expect(phases.map((e) => [e.step, e.from, e.to])).to.deep.equal([[1, null, 'A']]);
    });
  }

  it('finishes failed or stopped as the trainer says, and close() stops open runs', async () => {
    await start();
    const a = await createRun();
    const b = await createRun();
    const c = await createRun();
    const fa = await post(`/api/runs/${a}/finish`, {
      status: 'failed',
      error: 'CUDA out of memory',
    });
    expect(fa.json()).to.include({ status: 'failed' });
    expect(JSON.parse(readFileSync(join(runsDir, a, 'meta.json'), 'utf8'))).to.include({
      status: 'failed',
      error: 'CUDA out of memory',
    });
    expect((await post(`/api/runs/${b}/finish`, { status: 'stopped' })).json()).to.include({
      status: 'stopped',
    });
    ingest.close();
    expect(events(c).map((e) => e.type)).to.deep.equal(['run-start', 'run-end']);
    expect(events(c)[1]).to.include({ status: 'stopped' });
  });

  it('refuses a run over maxOpenRuns with 429 until one finishes', async () => {
    await start({ maxOpenRuns: 2 });
    const a = await createRun();
    await createRun();
    const over = await post('/api/runs', {});
    expect(over.status).to.equal(429);
    expect(over.text).to.equal('2 runs are open, the most this server takes: finish one first\n');
    expect((await post(`/api/runs/${a}/finish`)).status).to.equal(200);
    await createRun();
  });

  it('refuses a snapshot whose body ends after that of a later step (order is kept)', async () => {
    await start();
    const runId = await createRun();
    const s = bumpSnapshot(20, 8, 2);
    const body = npySnapshot(s, 20, 8);
    const { request: raw } = await import('node:http');
    const slow = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = raw(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `/api/runs/${runId}/snapshots?step=10`,
          headers: { 'content-type': 'application/x-npy', 'content-length': body.length },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(body.subarray(0, 100));
      // The later step lands first; then the rest of step 10 arrives.
      post(`/api/runs/${runId}/snapshots?step=20`, body, {
        'content-type': 'application/x-npy',
      }).then((r) => {
        expect(r.status).to.equal(202);
        req.end(body.subarray(100));
      }, reject);
    });
    const r = await slow;
    expect(r.status).to.equal(409);
    expect(r.text).to.match(/last snapshot step 20 \(got 10\)/);
    expect(
      events(runId)
        .filter((e) => e.type === 'snapshot')
        .map((e) => e.step),
    ).to.deep.equal([20]);
  });

  it('ends a run whose trainer stopped sending (idle) as stopped, with an alert', async () => {
    await start({ idleMs: 1000 });
    const runId = await createRun();
    await new Promise((r) => setTimeout(r, 500));
    // A request re-arms the watchdog.
    const r = await post(`/api/runs/${runId}/events`, {
      type: 'metric',
      name: 'a',
      value: 1,
      step: 7,
    });
    expect(r.status).to.equal(200);
    await new Promise((r) => setTimeout(r, 600));
    expect(ingest.openRuns).to.deep.equal([runId]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(ingest.openRuns).to.deep.equal([]);
    const all = events(runId);
    expect(all.map((e) => e.type)).to.deep.equal(['run-start', 'metric', 'alert', 'run-end']);
    expect(all[2]).to.include({
      level: 'warning',
      message: 'no request from the trainer for 1 s: run stopped',
    });
    expect(all[3]).to.include({ status: 'stopped', step: 7 });
  });
});

describe('engine/server/ingest on the live server', () => {
  it('is served by startServer: a run posted over HTTP reaches a dashboard socket live', async function () {
    this.timeout(60_000);
    const { startServer } = await import('../../../engine/server/live-server.js');
    const { Subject } = await import('rxjs');
    const { WebSocket } = await import('ws');
    const runsDir = mkdtempSync(join(tmpdir(), 'pw-ingest-live-'));
    const server = await startServer({
      runsDir,
      live$: new Subject<RunEvent>(),
      port: 0,
      token: 'tok',
    });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=tok`);
      const messages: string[] = [];
      ws.on('message', (d) => messages.push(String(d)));
      await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
      const auth = { authorization: 'Bearer tok' };
      const created = await request(server.port, 'POST', '/api/runs', {
        body: { name: 'from torch' },
        headers: auth,
      });
      expect(created.status, created.text).to.equal(201);
      const { runId } = created.json() as { runId: string };
      const until = async (pred: () => boolean) => {
        for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 25));
        expect(pred()).to.equal(true);
      };
      await until(() => messages.some((m) => m.includes(runId) && m.includes('from torch')));
      const page = await request(server.port, 'GET', '/?token=tok');
      expect(page.status).to.equal(200);
      expect((await request(server.port, 'POST', '/api/runs', { body: {} })).status).to.equal(401);
      ws.close();
    } finally {
      await server.close();
      rmSync(runsDir, { recursive: true, force: true });
    }
  });
});
