import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import densitySweep, { densityRows, TINY } from '../../examples/density-sweep.js';
import { readRunMeta } from '../../engine/store/run-store.js';
import type { CurveEvent } from '../../streams/events.js';
import { readRunEvents } from '../../streams/replay.js';
import { tinyContext } from './script-context.js';

describe('examples/density-sweep', function () {
  this.timeout(180_000);
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-density-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('runs one stored run per dx and seed, then a summary run with steps-to-C and accuracy curves; resumes without rerunning', async () => {
    const events = await lastValueFrom(densitySweep(tinyContext(runsDir)).pipe(toArray()));
    const sweepRuns = TINY.increments.map((dx) => `density-dx${dx}_dy${dx}_seed1`);
    const dirs = readdirSync(runsDir);
    expect(dirs).to.include.members(sweepRuns);
    expect(dirs).to.have.length(sweepRuns.length + 1);
    for (const runId of sweepRuns) {
      const stored = readRunEvents(join(runsDir, runId));
      const kinds = new Set(stored.map((e) => e.type));
      for (const k of [
        'run-start',
        'step',
        'snapshot',
        'assessment',
        'metric',
        'phase',
        'run-end',
      ]) {
        expect(kinds.has(k as never), `${runId} has ${k}`).to.equal(true);
      }
      expect(readRunMeta(join(runsDir, runId))).to.include({ status: 'completed' });
      expect(readRunMeta(join(runsDir, runId)).config).to.include({
        dx: Number(runId.split('dx')[1].split('_')[0]),
      });
    }
    const summaryId = dirs.find((d) => !sweepRuns.includes(d)) as string;
    const curves = readRunEvents(join(runsDir, summaryId)).filter(
      (e): e is CurveEvent => e.type === 'curve',
    );
    const names = curves.map((c) => c.name);
    expect(names).to.include.members([
      'density/steps-to-C',
      'density/reached-C',
      'density/accuracy@dx0.5',
      'density/accuracy@dx2',
      'density/r2@dx2',
    ]);
    const acc = curves.find((c) => c.name === 'density/accuracy@dx2') as CurveEvent;
    expect(acc.x).to.deep.equal([4, 8, 12]);
    expect(acc.y.every((v) => v >= 0 && v <= 1)).to.equal(true);
    expect(curves.find((c) => c.name === 'density/reached-C')?.x).to.deep.equal(TINY.increments);
    // the rows agree with the stored phase events
    const rows = densityRows(
      events.filter((e) => sweepRuns.includes(e.runId)),
      TINY.increments,
    );
    for (const r of rows) {
      const c = readRunEvents(join(runsDir, `density-dx${r.dx}_dy${r.dx}_seed1`)).find(
        (e) => e.type === 'phase' && e.to === 'C',
      );
      expect(r.stepsToC).to.deep.equal(c ? [c.step] : []);
    }

    // again: the finished runs are replayed, not rerun; only a new summary run is added
    const again = await lastValueFrom(densitySweep(tinyContext(runsDir)).pipe(toArray()));
    expect(readdirSync(runsDir)).to.have.length(sweepRuns.length + 2);
    expect(again.filter((e) => sweepRuns.includes(e.runId))).to.deep.equal(
      events
        .filter((e) => sweepRuns.includes(e.runId))
        .sort((a, b) => sweepRuns.indexOf(a.runId) - sweepRuns.indexOf(b.runId)),
    );
  });
});
