import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { startServer, type LiveServer } from '../../../engine/server/live-server.js';
import { readSnapshotArrays } from '../../../engine/store/run-store.js';
import type { AssessmentEvent, RunEvent, Snapshot } from '../../../streams/events.js';
import { readRunEvents } from '../../../streams/replay.js';
import {
  noisySnapshot,
  syntheticRepresentation,
} from '../../operators/synthetic-representation.js';
import { npyBytes } from './ingest-helpers.js';

const TOKEN = 'repr-tok';
const SPECS = [{ name: 'x' }, { name: 'class', classes: 3 }];
const CLASS_NAMES = ['cat', 'dog', 'eel'];

/** A synthetic representation snapshot as the JSON body a trainer sends. */
function jsonBody(s: Snapshot, samplesOk?: boolean[]): object {
  const n = s.activations.length / s.dim;
  const rows = Array.from({ length: n }, (_, i) =>
    Array.from(s.activations.subarray(i * s.dim, (i + 1) * s.dim)),
  );
  return {
    activations: rows,
    factors: {
      x: Array.from(s.factors!.x.values),
      class: Array.from(s.factors!.class.values, (c) => CLASS_NAMES[c]),
    },
    ...(samplesOk ? { samplesOk } : {}),
  };
}

describe('engine/server/representation-upload (representation snapshots over HTTP, live server)', function () {
  this.timeout(60_000);
  let runsDir: string;
  let server: LiveServer;

  beforeEach(async () => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-repr-'));
    server = await startServer({ runsDir, live$: new Subject<RunEvent>(), port: 0, token: TOKEN });
  });
  afterEach(async () => {
    await server.close();
    rmSync(runsDir, { recursive: true, force: true });
  });

  const call = async (path: string, body?: object | Buffer, type = 'application/json') => {
    const r = await fetch(`http://127.0.0.1:${server.port}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': type },
      body:
        body === undefined
          ? undefined
          : Buffer.isBuffer(body)
            ? new Uint8Array(body)
            : JSON.stringify(body),
    });
    return { status: r.status, text: await r.text() };
  };
  const createRun = async (): Promise<string> => {
    const r = await call('/api/runs', { name: 'any model', assess: { embed: 'pca', confirm: 1 } });
    expect(r.status, r.text).to.equal(201);
    return (JSON.parse(r.text) as { runId: string }).runId;
  };

  it('assesses JSON representation snapshots by the generic rule: A → B → C, stored with their factors', async () => {
    const runId = await createRun();
    const kinds = ['noise', 'scrambled', 'ordered'] as const;
    for (const [i, kind] of kinds.entries()) {
      const snap = syntheticRepresentation(kind, SPECS, { seed: i + 1 });
      const ok = Array.from({ length: 200 }, (_, j) => kind === 'ordered' || j % 4 !== 0);
      const r = await call(
        `/api/runs/${runId}/snapshots?step=${(i + 1) * 100}`,
        jsonBody(snap, ok),
      );
      expect(r.status, r.text).to.equal(202);
      expect(JSON.parse(r.text)).to.include({ step: (i + 1) * 100, count: 200, size: 0, dim: 32 });
    }
    const fin = await call(`/api/runs/${runId}/finish`);
    expect(JSON.parse(fin.text)).to.include({ status: 'completed', phase: 'C' });
    const events = readRunEvents(join(runsDir, runId));
    const assessments = events.filter((e): e is AssessmentEvent => e.type === 'assessment');
    expect(assessments.map((a) => a.phase)).to.deep.equal(['A', 'B', 'C']);
    expect(assessments[2].rule).to.equal('representation');
    expect(assessments[2].factors?.class.slice(0, 3)).to.satisfy((c: number[]) =>
      c.every((v) => [0, 1, 2].includes(v)),
    );
    expect(assessments[1].evidence.samplesOk).to.equal(0.75);
    expect(assessments[2].evidence.samplesOk).to.equal(1);
    const phases = events.flatMap((e) => (e.type === 'phase' ? [`${e.from ?? '-'}>${e.to}`] : []));
    expect(phases).to.deep.equal(['->A', 'A>B', 'B>C']);
    const stored = readSnapshotArrays(join(runsDir, runId, 'snapshots', '300.bin'));
    const sent = syntheticRepresentation('ordered', SPECS, { seed: 3 });
    expect(stored.labels.length).to.equal(400);
    expect(stored.labels[2]).to.equal(sent.factors!.x.values[1]);
    expect(stored.images).to.have.length(200);
    expect(stored.activations).to.deep.equal(sent.activations);
  });

  it('takes .npy activations, factors and sample verdicts named by the query', async () => {
    const runId = await createRun();
    const snap = syntheticRepresentation('ordered', SPECS, { seed: 7 });
    const factors = new Float32Array(400);
    for (let i = 0; i < 200; i++) {
      factors[2 * i] = snap.factors!.x.values[i];
      factors[2 * i + 1] = snap.factors!.class.values[i];
    }
    const body = Buffer.concat([
      npyBytes([200, 32], snap.activations),
      npyBytes([200, 2], factors, '<f8'),
      npyBytes([200], new Float32Array(200).fill(1)),
    ]);
    const r = await call(
      `/api/runs/${runId}/snapshots?step=5&factors=x,class&categorical=class&samplesOk=1`,
      body,
      'application/x-npy',
    );
    expect(r.status, r.text).to.equal(202);
    await call(`/api/runs/${runId}/finish`);
    const a = readRunEvents(join(runsDir, runId)).find(
      (e): e is AssessmentEvent => e.type === 'assessment',
    );
    expect(a?.phase).to.equal('C');
    expect(a?.evidence['probe/class']).to.be.greaterThan(0.9);
    expect(a?.evidence['r2/x']).to.be.greaterThan(0.9);
  });

  it('withholds the phase of too few samples or a constant factor, and says so', async () => {
    const runId = await createRun();
    const small = syntheticRepresentation('ordered', SPECS, { n: 10 });
    const said = await call(`/api/runs/${runId}/snapshots?step=1`, jsonBody(small));
    expect(said.status).to.equal(202);
    expect(JSON.parse(said.text)).to.include({
      warning: 'phase will not be judged: only 10 samples (at least 20 are needed)',
    });
    const flat = jsonBody(syntheticRepresentation('ordered', SPECS)) as {
      factors: { x: number[] };
    };
    flat.factors.x.fill(3);
    expect((await call(`/api/runs/${runId}/snapshots?step=2`, flat)).status).to.equal(202);
    const fin = await call(`/api/runs/${runId}/finish`);
    expect(JSON.parse(fin.text)).to.include({ phase: null });
    const events = readRunEvents(join(runsDir, runId));
    expect(events.filter((e) => e.type === 'phase')).to.deep.equal([]);
    const alerts = events.flatMap((e) => (e.type === 'alert' ? [e.message] : []));
    expect(alerts).to.deep.equal([
      'snapshot at step 1: phase not judged: only 10 samples (at least 20 are needed)',
      'snapshot at step 2: phase not judged: factor x has no variance',
    ]);
  });

  it('takes activations at several noise levels and stores the noise-level probe curves live', async () => {
    const runId = await createRun();
    const s = noisySnapshot();
    const rows = (a: Float32Array) =>
      Array.from({ length: 200 }, (_, i) => Array.from(a.subarray(i * s.dim, (i + 1) * s.dim)));
    const body = {
      activations: rows(s.activations),
      factors: {
        class: Array.from(s.factors!.class.values, (c) => CLASS_NAMES[c]),
        x: Array.from(s.factors!.x.values),
      },
      noiseLevels: s.noiseLevels!.map((l) => ({ t: l.t, activations: rows(l.activations) })),
    };
    const r = await call(`/api/runs/${runId}/snapshots?step=10`, body);
    expect(r.status, r.text).to.equal(202);
    await call(`/api/runs/${runId}/finish`);
    const events = readRunEvents(join(runsDir, runId));
    const curve = events.find((e) => e.type === 'curve' && e.name === 'noise-probe/class');
    expect(curve).to.deep.include({ step: 10, x: [0, 10, 20, 40, 60, 80] });
    const peak = events.find((e) => e.type === 'metric' && e.name === 'noise-probe/class/peak-t');
    expect(peak && 'value' in peak ? peak.value : -1).to.be.oneOf([20, 40, 60]);
  });

  it('refuses bad representation snapshots with 400 and one line naming the field', async () => {
    const runId = await createRun();
    const good = jsonBody(syntheticRepresentation('ordered', SPECS, { n: 30 })) as {
      activations: (number | null)[][];
      factors: Record<string, unknown[]>;
    };
    const nanRow = structuredClone(good);
    nanRow.activations[3][1] = null;
    const cases: [object | Buffer, string, string][] = [
      [
        { ...good, activations: 5 },
        '',
        'activations must be N >= 1 rows of D >= 1 numbers, e.g. [[0.1, 0.2], [0.3, 0.4]]',
      ],
      [nanRow, '', 'activations[3][1] must be a finite number (got null)'],
      [{ ...good, factors: {} }, '', 'factors must name at least one factor'],
      [
        { ...good, factors: { x: [1, 2] } },
        '',
        'factors.x must be an array of N = 30 values, one per activation row (got 2 values)',
      ],
      [
        { ...good, labels: [] },
        '',
        'body.labels is not a field (accepted: activations, factors, categorical, samplesOk, noiseLevels)',
      ],
      [{ ...good, categorical: ['y'] }, '', 'categorical names y, which is not among the factors'],
      [
        { ...good, noiseLevels: [{ t: 5, activations: [[1, 2]] }] },
        '',
        'noiseLevels[0].activations must hold N = 30 rows, one per sample (got 1)',
      ],
      [
        { ...good, noiseLevels: [{ t: 'late', activations: [[1]] }] },
        '',
        'noiseLevels[0].t must be a finite number (got "late")',
      ],
      [
        { ...good, samplesOk: ['yes'] },
        '',
        'samplesOk must be an array of N = 30 numbers or booleans (got 1 values)',
      ],
      [
        Buffer.concat([npyBytes([2, 2], [0, NaN, 1, 2]), npyBytes([2], [0, 1])]),
        '&factors=x',
        'activations hold a non-finite value at flat index 1 (NaN)',
      ],
      [
        Buffer.concat([npyBytes([2, 2], [0, 1, 1, 2]), npyBytes([2, 3], [0, 1, 2, 3, 4, 5])]),
        '&factors=x,y',
        'factors must have shape (N=2, 2) for factors=x,y (got (2, 3))',
      ],
      [
        Buffer.alloc(0),
        '&factors=x&categorical=z',
        'categorical names z, which is not among factors=x',
      ],
    ];
    for (const [body, query, message] of cases) {
      const npy = Buffer.isBuffer(body);
      const r = await call(
        `/api/runs/${runId}/snapshots?step=1${query}`,
        body,
        npy ? 'application/x-npy' : 'application/json',
      );
      expect([r.status, r.text], message).to.deep.equal([400, `${message}\n`]);
    }
    const text = await call(`/api/runs/${runId}/snapshots?step=1`, Buffer.from('x'), 'text/plain');
    expect([text.status, text.text]).to.deep.equal([
      415,
      'content-type must be application/x-npy or application/octet-stream with x-phasewatch-shapes (bump images), or application/json (a representation snapshot) (got "text/plain")\n',
    ]);
    await call(`/api/runs/${runId}/finish`);
    expect(readRunEvents(join(runsDir, runId)).filter((e) => e.type === 'snapshot')).to.deep.equal(
      [],
    );
  });
});
