import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import noiseLevelsScript, { TINY, optionsFrom } from '../../examples/noise-levels.js';
import type { CurveEvent, MetricEvent, RunEvent } from '../../streams/events.js';
import { tinyContext } from './script-context.js';

describe('examples/noise-levels', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-noise-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('picks the tiny preset under 200 steps and takes NOISE_LEVELS overrides', () => {
    const ctx = tinyContext(runsDir);
    expect(optionsFrom(ctx).hidden).to.equal(TINY.hidden);
    process.env.NOISE_LEVELS = '{"hidden": 24}';
    try {
      expect(optionsFrom(ctx).hidden).to.equal(24);
      process.env.NOISE_LEVELS = '{oops';
      expect(() => optionsFrom(ctx)).to.throw(/NOISE_LEVELS must be a JSON object/);
    } finally {
      delete process.env.NOISE_LEVELS;
    }
  });

  it('stores one run with probe curves (clean, noisy, posterior), CSNR curves, ensemble metrics, trajectory probes and the MI matrix at every snapshot', async () => {
    const ctx = tinyContext(runsDir); // 12 steps, a snapshot every 4
    process.env.NOISE_LEVELS = '{"trajectories": true}';
    let events: RunEvent[];
    try {
      events = await lastValueFrom(noiseLevelsScript(ctx).pipe(toArray()));
    } finally {
      delete process.env.NOISE_LEVELS;
    }
    expect(readdirSync(runsDir)).to.have.length(1);
    const curves = events.filter((e): e is CurveEvent => e.type === 'curve');
    const metrics = events.filter((e): e is MetricEvent => e.type === 'metric');
    const names = (step: number): string[] =>
      [...curves, ...metrics]
        .filter((e) => e.step === step)
        .map((e) => e.name)
        .sort();
    for (const step of [4, 8, 12]) {
      expect(names(step)).to.include.members([
        'probe/acc-clean',
        'probe/acc-noisy',
        'csnr/features',
        'csnr/posterior',
        'csnr/closed-form',
        'ensemble/single-noise0',
        'ensemble/vote-noise0',
        'ensemble/single-noise80',
        'ensemble/vote-noise80',
        'trajectory/gru-acc',
        'trajectory/attention-acc',
        'trajectory/attention',
        'trajectory/point-acc',
      ]);
    }
    const mi = events.filter((e) => e.type === 'matrix');
    expect(mi.map((e) => e.step)).to.deep.equal([4, 8, 12]);
    expect(curves.find((c) => c.name === 'probe/acc-posterior')?.x).to.deep.equal(
      TINY.probeTimesteps,
    );
    for (const c of curves) {
      expect(c.x).to.deep.equal(TINY.probeTimesteps);
      expect(c.y.every((v) => Number.isFinite(v))).to.equal(true);
    }
    for (const m of metrics.filter((e) => /single|vote/.test(e.name))) {
      expect(m.value).to.be.within(0, 1);
    }
    expect(events.at(-1)?.type).to.equal('run-end');
    const stored = readFileSync(join(runsDir, readdirSync(runsDir)[0], 'events.jsonl'), 'utf8');
    expect(stored).to.contain('"ensemble/vote-noise80"');
  });
});
