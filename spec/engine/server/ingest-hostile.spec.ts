import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { startServer, type LiveServer } from '../../../engine/server/live-server.js';
import type { RunEvent } from '../../../streams/events.js';
import { readRunEvents } from '../../../streams/replay.js';
import { bumpSnapshot, npyBytes, request } from './ingest-helpers.js';
import { sendThenRead } from './raw-requests.js';

/** `[[[…]]]`, `n` deep. */
const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);

/** Hostile requests to the ingest API of a live server (`phasewatch serve`'s). */
describe('live server: hostile ingest requests', () => {
  let root: string;
  let runsDir: string;
  let server: LiveServer;
  const post = (path: string, body: string | Buffer, type = 'application/json') =>
    request(server.port, 'POST', path, { body, headers: { 'content-type': type } });
  const createRun = async () => {
    const r = await post('/api/runs', '{}');
    expect(r.status, r.text).to.equal(201);
    return (r.json() as { runId: string }).runId;
  };
  /** Still serving: the page and a new run. */
  const alive = async () => {
    expect((await request(server.port, 'GET', '/')).status).to.equal(200);
    return createRun();
  };

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'pw-ingest-hostile-'));
    runsDir = join(root, 'runs');
    mkdirSync(runsDir);
    server = await startServer({ runsDir, live$: new Subject<RunEvent>(), port: 0 });
  });
  afterEach(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses deeply nested JSON with a 400 naming the limit, and creates nothing', async () => {
    // [body, where its 65th level opens]
    for (const [body, at] of [
      [`{"config":{"a":${nested(5000)}}}`, 15 + 62],
      [`{"name":${nested(100_000)}}`, 8 + 63],
      [nested(4 << 20), 64],
    ] as const) {
      const r = await post('/api/runs', body);
      expect([r.status, r.text], body.slice(0, 30)).to.deep.equal([
        400,
        `body: arrays and objects nested more than 64 deep are not accepted (at byte ${at})\n`,
      ]);
      expect(readdirSync(runsDir)).to.deep.equal([]);
    }
    const runId = await createRun();
    const deepEvent = `{"type":"metric","name":"a","value":1,"step":1,"tags":{"a":${nested(5000)}}}`;
    const r = await post(`/api/runs/${runId}/events`, deepEvent);
    expect(r.status, r.text).to.equal(400);
    expect(r.text).to.match(/^body: arrays and objects nested more than 64 deep/);
    // 64 levels are taken (the body, config, and 62 arrays).
    const ok = await post('/api/runs', `{"config":{"a":${nested(62)}}}`);
    expect(ok.status, ok.text).to.equal(201);
    // Brackets inside strings are not nesting.
    const text = await post('/api/runs', JSON.stringify({ notes: '['.repeat(500) + '\\"{' }));
    expect(text.status, text.text).to.equal(201);
    expect(readRunEvents(join(runsDir, runId)).map((e) => e.type)).to.deep.equal(['run-start']);
    await alive();
  });

  it('refuses images of size 0 in every upload form, stores nothing, assesses nothing', async () => {
    const runId = await createRun();
    const n = 24;
    const s = bumpSnapshot(n, 8, 1);
    const labels = npyBytes([n, 2], s.labels);
    const acts = npyBytes([n, s.dim], s.activations);
    const npy = (images: Buffer) =>
      post(
        `/api/runs/${runId}/snapshots?step=1`,
        Buffer.concat([labels, images, acts]),
        'application/x-npy',
      );
    const raw = (imagesShape: string) =>
      request(server.port, 'POST', `/api/runs/${runId}/snapshots?step=1`, {
        body: Buffer.concat([s.labels, s.activations].map((a) => Buffer.from(a.buffer))),
        headers: {
          'content-type': 'application/octet-stream',
          'x-phasewatch-shapes': `labels=${n}x2; images=${imagesShape}; activations=${n}x${s.dim}`,
        },
      });
    const refused =
      /^images must have shape \(N=24, S, S\), \(N, 1, S, S\) or \(N, S\*S\) with S >= 1 \(got \((24, 0|24, 1, 0, 0|24, 0, 0)\)\)\n$/;
    for (const [what, reply] of [
      ['npy (24, 0)', npy(npyBytes([n, 0], []))],
      ['npy (24, 1, 0, 0)', npy(npyBytes([n, 1, 0, 0], []))],
      ['raw 24x0', raw(`${n}x0`)],
      ['raw 24x0x0', raw(`${n}x0x0`)],
    ] as const) {
      const r = await reply;
      expect(r.status, `${what}: ${r.text}`).to.equal(400);
      expect(r.text, what).to.match(refused);
    }
    // A shape numpy never writes (hex) is not read as 24.
    const hex = Buffer.from(labels.toString('latin1').replace('(24, 2)', '(0x18,2)'), 'latin1');
    const r = await post(
      `/api/runs/${runId}/snapshots?step=1`,
      Buffer.concat([hex, npyBytes([n, 64], s.images), acts]),
      'application/x-npy',
    );
    expect([r.status, r.text]).to.deep.equal([
      400,
      'labels: .npy shape (0x18,2) is not a tuple of sizes\n',
    ]);
    expect(readRunEvents(join(runsDir, runId)).map((e) => e.type)).to.deep.equal(['run-start']);
    expect(readdirSync(join(runsDir, runId, 'snapshots'))).to.deep.equal([]);
  });

  it('answers a run id outside the runs dir as it answers one that is not there', async () => {
    mkdirSync(join(root, 'oracle'));
    writeFileSync(join(root, 'oracle', 'meta.json'), '{}');
    const event = JSON.stringify({ type: 'metric', name: 'a', value: 1, step: 1 });
    const replies = [];
    for (const id of [
      'oracle',
      'nothing',
      '..%2foracle',
      '..%2fnothing',
      '..%2fruns%2f..%2foracle',
    ]) {
      for (const path of [`/api/runs/${id}/events`, `/api/runs/${id}/finish`]) {
        const r = await post(path, event);
        replies.push([r.status, r.text.replace(/"[^"]*"/, '"…"')]);
      }
      const r = await request(server.port, 'GET', `/api/runs/${id}`);
      replies.push([r.status, r.text.replace(/"[^"]*"/, '"…"')]);
    }
    expect(new Set(replies.map((r) => JSON.stringify(r))).size, JSON.stringify(replies)).to.equal(
      2,
    );
    expect(replies.every(([status]) => status === 404)).to.equal(true);
  });

  it('answers a JSON body over 8 MiB sent at once with a readable 413, then serves on', async () => {
    const runId = await createRun();
    const body = Buffer.alloc((8 << 20) + 1, 0x20);
    const head = (path: string, length: number | 'chunked') =>
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      (length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`) +
      '\r\n\r\n';
    for (const path of ['/api/runs', `/api/runs/${runId}/events`]) {
      const status = await sendThenRead(
        server.port,
        Buffer.concat([Buffer.from(head(path, body.length)), body]),
      );
      expect(status, path).to.equal('HTTP/1.1 413 Payload Too Large');
    }
    // Chunked, no length said: found over the limit while read.
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const chunked = [Buffer.from(head('/api/runs', 'chunked'))];
    for (let i = 0; i < 10; i++)
      chunked.push(Buffer.from('100000\r\n'), chunk, Buffer.from('\r\n'));
    chunked.push(Buffer.from('0\r\n\r\n'));
    expect(await sendThenRead(server.port, Buffer.concat(chunked))).to.equal(
      'HTTP/1.1 413 Payload Too Large',
    );
    expect(readdirSync(runsDir)).to.deep.equal([runId]);
    await alive();
  });

  it('refuses run ids that start with "-" or "."', async () => {
    for (const runId of ['-rf', '.hidden', '-', '.x.y']) {
      const r = await post('/api/runs', JSON.stringify({ runId }));
      expect([r.status, r.text], runId).to.deep.equal([
        400,
        `runId must be 1-200 letters, digits, '.', '_' or '-', not starting with '.' or '-' (got ${JSON.stringify(runId)})\n`,
      ]);
    }
    expect(readdirSync(runsDir)).to.deep.equal([]);
    const ok = await post('/api/runs', JSON.stringify({ runId: '_a.b-c' }));
    expect(ok.status, ok.text).to.equal(201);
  });
});
