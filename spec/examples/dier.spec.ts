import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import dierScript, { quadrants } from '../../examples/dier.js';
import type { CurveEvent, RunEvent } from '../../streams/events.js';
import { gaussianBumps } from '../../streams/gaussian-bumps.js';
import { tinyContext } from './script-context.js';

describe('examples/dier', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-dier-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('labels bumps by quadrant', () => {
    const q = quadrants(gaussianBumps({ size: 8, dx: 1 }));
    expect([q[0], q[7], q[56], q[63]]).to.deep.equal([0, 1, 2, 3]);
  });

  it('stores one run per data set with encoder and decoder probe curves at every snapshot', async () => {
    const events: RunEvent[] = await lastValueFrom(
      dierScript(tinyContext(runsDir)).pipe(toArray()),
    );
    expect(readdirSync(runsDir)).to.have.length(2);
    const curves = events.filter((e): e is CurveEvent => e.type === 'curve');
    for (const name of ['dier/encoder/acc-clean', 'dier/layer2/acc-clean']) {
      const steps = curves.filter((c) => c.name === name).map((c) => c.step);
      expect(steps).to.deep.equal([4, 8, 12, 4, 8, 12]); // molrg run, then bumps run
    }
    expect(events.filter((e) => e.type === 'run-end')).to.have.length(2);
  });
});
