import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { assessmentFigures } from '../../streams/events.js';
import { replay } from '../../streams/replay.js';
import { readRunMeta } from '../../engine/store/run-store.js';

/** A run as the first landing (v1) wrote it: no eventsVersion, no metric events. */
function writeV1Run(root: string): string {
  const dir = join(root, 'old-run');
  mkdirSync(dir, { recursive: true });
  const meta = {
    runId: 'old-run',
    createdAt: '2026-11-20T10:00:00.000Z',
    backend: 'native',
    config: { steps: 400 },
    status: 'completed',
    phase: 'A',
    lastStep: 400,
  };
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta, null, 2));
  const base = { runId: 'old-run', time: 1 };
  const lines = [
    { ...base, seq: 1, step: 0, type: 'run-start', meta: { ...meta, status: 'running' } },
    { ...base, seq: 2, step: 1, type: 'step', loss: 1.2, examplesPerSec: 100 },
    {
      ...base,
      seq: 3,
      step: 200,
      type: 'snapshot',
      file: 'snapshots/200.bin',
      count: 2,
      size: 4,
      dim: 3,
      sampleMs: 5,
    },
    {
      ...base,
      seq: 4,
      step: 200,
      type: 'assessment',
      accuracy: 0.25,
      bumps: { none: 0.5, one: 0.5, many: 0 },
      r2: { x: 0.1, y: 0.2, mean: 0.15 },
      phase: 'A',
      rawPhase: 'A',
      evidence: { oneBump: 0.5 },
      embedding: [0, 0, 0, 1, 1, 1],
      labels: [1, 1, 2, 2],
      size: 4,
      samples: [],
    },
    { ...base, seq: 5, step: 200, type: 'phase', from: null, to: 'A', evidence: { oneBump: 0.5 } },
    { ...base, seq: 6, step: 400, type: 'run-end', status: 'completed' },
  ];
  writeFileSync(join(dir, 'events.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return dir;
}

describe('events (v2) and runs stored as v1', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pw-v1-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('replays a v1 run unchanged, and derives its figures as metrics', async () => {
    const dir = writeV1Run(root);
    expect(readRunMeta(dir).eventsVersion).to.equal(undefined);
    const events = await lastValueFrom(replay(dir).pipe(toArray()));
    expect(events.map((e) => e.type)).to.deep.equal([
      'run-start',
      'step',
      'snapshot',
      'assessment',
      'phase',
      'run-end',
    ]);
    const a = events[3];
    if (a.type !== 'assessment') throw new Error('expected an assessment');
    expect(assessmentFigures(a)).to.deep.equal({
      'phase/accuracy': 0.25,
      'phase/r2x': 0.1,
      'phase/r2y': 0.2,
      'phase/r2': 0.15,
      'phase/one-bump': 0.5,
      'phase/no-bump': 0.5,
      'phase/many-bumps': 0,
      'evidence/oneBump': 0.5,
    });
  });

  it('leaves non-finite figures out', () => {
    const f = assessmentFigures({
      accuracy: NaN,
      r2: { x: 1, y: 1, mean: 1 },
      bumps: { none: 0, one: 1, many: 0 },
      evidence: { x: Infinity },
    });
    expect(f).to.not.have.property('phase/accuracy');
    expect(f).to.not.have.property('evidence/x');
    expect(f['phase/r2']).to.equal(1);
  });
});
