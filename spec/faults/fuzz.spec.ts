import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { WebSocket } from 'ws';
import { startServer, type LiveServer } from '../../engine/server/live-server.js';
import { syntheticRun } from '../../engine/server/synthetic-run.js';
import { RunStore } from '../../engine/store/run-store.js';
import type { RunEvent } from '../../streams/events.js';
import { frame, send, sendFrames, settledHeapMb } from './fuzz-support.js';

const full = process.env.PHASEWATCH_FAULTS === 'full';
/** Raw HTTP requests, and WebSocket connections of random frames, per run of the suite. */
const HTTP_CASES = full ? 6000 : 600;
const WS_CASES = full ? 4000 : 400;

const crlf = '\r\n';
const targets = fc.oneof(
  fc.constantFrom(
    '/',
    '//',
    '//[',
    '%',
    '/%zz',
    '/%',
    '*',
    'http://x/',
    'http://127.0.0.1/',
    'http://[/',
    '/ws',
    '/ws?token=%zz',
    '/app.js',
    '/index.html?token=',
    '/favicon.ico',
    '/api',
    '/api/runs',
    '/api/runs/..',
    '/api/runs/%2e%2e/events',
    '/api/runs/x/snapshots',
    '/../package.json',
    '/?' + 'a'.repeat(9000),
  ),
  fc.string({ unit: 'binary-ascii', maxLength: 60 }),
  fc.string({ maxLength: 40 }).map((s) => '/' + s),
  fc.webPath(),
);
const headerName = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.constantFrom(
      'Host',
      'Origin',
      'Connection',
      'Upgrade',
      'Sec-WebSocket-Key',
      'Sec-WebSocket-Version',
      'Sec-WebSocket-Extensions',
      'Sec-WebSocket-Protocol',
      'Content-Length',
      'Transfer-Encoding',
      'Content-Type',
      'Authorization',
      'Expect',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 0, maxLength: 12 }) },
);
const headerValue = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constantFrom(
      '127.0.0.1',
      'localhost:1',
      'evil.example',
      'Upgrade',
      'websocket',
      '13',
      '99',
      'dGhlIHNhbXBsZSBub25jZQ==',
      'chunked',
      '-1',
      '0',
      '99999999999999999999',
      'null',
      'http://evil.example',
      'permessage-deflate; client_max_window_bits=99',
      'application/json',
      '100-continue',
    ),
  },
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 40 }) },
);
const request = fc.record({
  method: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT') },
    { weight: 1, arbitrary: fc.constantFrom('OPTIONS', 'DELETE', 'CONNECT', 'PRI') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 8 }) },
  ),
  target: targets,
  version: fc.oneof(
    { weight: 8, arbitrary: fc.constant('HTTP/1.1') },
    { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x', '', 'HTTP/9') },
  ),
  host: fc.oneof(
    { weight: 8, arbitrary: fc.constant('Host: 127.0.0.1\r\n') },
    { weight: 1, arbitrary: fc.constant('') },
  ),
  upgrade: fc.boolean(),
  handshake: fc.boolean(),
  headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 4 }),
  body: fc.oneof(fc.constant(''), fc.string({ unit: 'binary-ascii', maxLength: 200 })),
  reset: fc.oneof(
    { weight: 9, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  ),
});

const json = fc.oneof(
  fc.record(
    {
      v: fc.oneof(fc.constantFrom(1, 2, 3, 0, -1, '1'), fc.anything()),
      type: fc.oneof(fc.constantFrom('subscribe', 'unsubscribe', 'x'), fc.anything()),
      runId: fc.oneof(fc.constantFrom('r1', 'nope', '..', '.', '../r1', ''), fc.anything()),
      sinceSeq: fc.oneof(fc.constantFrom(0, 1, 5, -1, 1.5, 1e308), fc.anything()),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue(),
);
const payload = fc.oneof(
  json.map((j) => Buffer.from(JSON.stringify(j) ?? 'null')),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.string({ maxLength: 100 }).map((s) => Buffer.from(s)),
);
const often = <T>(usual: T, other: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 9, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: other });
const wsFrame = fc
  .record({
    fin: often(true, fc.boolean()),
    rsv: often(0, fc.integer({ min: 0, max: 7 })),
    opcode: often(1, fc.oneof(fc.constantFrom(2, 8, 9, 10, 0), fc.integer({ min: 0, max: 15 }))),
    payload,
    masked: often(true, fc.boolean()),
    claimed: fc.option(fc.constantFrom(0, 125, 126, 65535, 65536, 2 ** 20 + 1, 2 ** 40), {
      freq: 10,
    }),
  })
  .map((f) =>
    frame({ ...f, fin: f.opcode === 1 ? f.fin || true : f.fin, claimed: f.claimed ?? undefined }),
  );

describe(`faults: fuzzed HTTP requests and WebSocket frames (${full ? 'full' : 'quick'})`, function () {
  this.timeout(full ? 900_000 : 120_000);
  let runsDir: string;
  let server: LiveServer;
  const thrown: unknown[] = [];
  const onError = (err: unknown) => thrown.push(err);

  before(async () => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-fuzz-'));
    const store = RunStore.create({ runsDir, runId: 'r1', backend: 'cpu', config: {} });
    for (const e of syntheticRun({ runId: 'r1', steps: 200, snapshotEvery: 50, points: 50 })) {
      store.append(e);
    }
    store.close('completed', 200);
    server = await startServer({ runsDir, live$: new Subject<RunEvent>(), port: 0 });
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
  });
  after(async () => {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
    await server.close();
    rmSync(runsDir, { recursive: true, force: true });
  });

  const alive = async () => {
    expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).to.equal(200);
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
    await new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve());
      ws.once('error', reject);
    });
    ws.terminate();
  };

  it(`answers ${HTTP_CASES} random raw HTTP requests (line, target, headers, upgrade) without a crash`, async () => {
    const before = settledHeapMb();
    const statuses = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 10, maxLength: 10 }), async (batch) => {
        await Promise.all(
          batch.map(async (r) => {
            const headers = [...r.headers];
            if (r.upgrade) headers.push(['Connection', 'Upgrade'], ['Upgrade', 'websocket']);
            if (r.handshake) {
              headers.push(
                ['Sec-WebSocket-Version', '13'],
                ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
              );
            }
            const head =
              `${r.method} ${r.target} ${r.version}${crlf}${r.host}` +
              headers.map(([k, v]) => `${k}: ${v}${crlf}`).join('') +
              crlf;
            const status = await send(server.port, Buffer.from(head + r.body, 'latin1'), {
              reset: r.reset,
            });
            const code = status.split(' ')[1] ?? '-';
            statuses.set(code, (statuses.get(code) ?? 0) + 1);
          }),
        );
        return thrown.length === 0;
      }),
      { numRuns: HTTP_CASES / 10, seed: 9, endOnFailure: true },
    );
    await alive();
    const after = settledHeapMb();
    console.log(
      `      HTTP: ${HTTP_CASES} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, heap ${before.toFixed(1)} -> ${after.toFixed(1)} MB`,
    );
    expect(thrown.map(String)).to.deep.equal([]);
    expect(after - before).to.be.lessThan(40);
  });

  it(`survives ${WS_CASES} WebSocket connections of random frames, with bounded memory`, async () => {
    const before = settledHeapMb();
    let frames = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(wsFrame, { minLength: 1, maxLength: 6 }), {
          minLength: 10,
          maxLength: 10,
        }),
        async (conns) => {
          await Promise.all(
            conns.map((fs) => {
              frames += fs.length;
              return sendFrames(server.port, Buffer.concat(fs));
            }),
          );
          return thrown.length === 0;
        },
      ),
      { numRuns: WS_CASES / 10, seed: 11, endOnFailure: true },
    );
    await alive();
    await new Promise((r) => setTimeout(r, 100));
    const after = settledHeapMb();
    console.log(
      `      WebSocket: ${WS_CASES} connections, ${frames} frames, heap ${before.toFixed(1)} -> ${after.toFixed(1)} MB, clients left ${server.clients}`,
    );
    expect(thrown.map(String)).to.deep.equal([]);
    expect(server.clients).to.equal(0);
    expect(after - before).to.be.lessThan(40);
  });
});
