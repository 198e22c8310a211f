import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import phaseB, { optionsFrom, phaseBRows, TINY } from '../../examples/phase-b.js';
import { readRunMeta } from '../../engine/store/run-store.js';
import type { SweepEvent } from '../../streams/sweep.js';
import { tinyContext } from './script-context.js';

describe('examples/phase-b', function () {
  this.timeout(120_000);
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-phaseb-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('takes PHASE_B overrides and rejects bad ones in one line', () => {
    const ctx = tinyContext(runsDir);
    expect(optionsFrom(ctx)).to.deep.equal(TINY);
    process.env.PHASE_B = '{"seeds":[4,5]}';
    try {
      expect(optionsFrom(ctx)).to.deep.equal({ encodings: ['standard'], seeds: [4, 5] });
      process.env.PHASE_B = '{"encodings":["wide"]}';
      expect(() => optionsFrom(ctx)).to.throw(
        /^PHASE_B encodings must be a non-empty list of fine, standard \(got \["wide"\]\)$/,
      );
      process.env.PHASE_B = '[1]';
      expect(() => optionsFrom(ctx)).to.throw(/^PHASE_B must be a JSON object/);
    } finally {
      delete process.env.PHASE_B;
    }
  });

  it('finds the longest raw-B stretch and its evidence', () => {
    const a = (step: number, raw: 'A' | 'B' | 'C'): SweepEvent =>
      ({
        type: 'assessment',
        runId: 'r',
        seq: step,
        time: 0,
        step,
        rawPhase: raw,
        phase: raw,
        bumps: { one: step / 1000, none: 0, many: 0 },
        evidence: { accuracyOneBump: 0.3, intrinsicDim: 4 },
      }) as unknown as SweepEvent;
    const start = {
      type: 'run-start',
      runId: 'r',
      seq: 0,
      time: 0,
      step: 0,
      meta: { config: { posEncoding: 'standard', seed: 2 } },
    } as unknown as SweepEvent;
    const rows = phaseBRows([
      start,
      a(100, 'A'),
      a(200, 'B'),
      a(300, 'A'),
      a(400, 'B'),
      a(500, 'B'),
      a(600, 'B'),
      a(700, 'C'),
    ]);
    expect(rows).to.have.length(1);
    expect(rows[0]).to.deep.include({
      posEncoding: 'standard',
      seed: 2,
      rawB: [400, 600],
      oneBump: 0.5,
      accOneBump: 0.3,
    });
  });

  it('runs the standard-encoding model in tiny mode and stores a summary of the phase steps', async () => {
    const events = await lastValueFrom(phaseB(tinyContext(runsDir)).pipe(toArray()));
    const dirs = readdirSync(runsDir);
    expect(dirs).to.include('phase-b-posEncodingstandard_seed1');
    expect(dirs).to.have.length(2);
    const meta = readRunMeta(join(runsDir, 'phase-b-posEncodingstandard_seed1'));
    expect(meta.config).to.include({ posEncoding: 'standard', seed: 1, steps: 12 });
    expect(meta.status).to.equal('completed');
    const kinds = new Set(events.map((e) => e.type));
    for (const k of ['run-start', 'step', 'assessment', 'phase', 'metric', 'run-end']) {
      expect(kinds.has(k as never), k).to.equal(true);
    }
    const summary = events.filter((e) => e.type === 'metric' && e.name.startsWith('phase-b/'));
    expect(summary.length).to.be.at.least(1);
  });
});
