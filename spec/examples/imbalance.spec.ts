import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import imbalance, { axisAccuracy, casesFrom, scaledCases } from '../../examples/imbalance.js';
import type { Snapshot } from '../../streams/events.js';
import { readRunEvents } from '../../streams/replay.js';
import { tinyContext } from './script-context.js';

/** An 8×8 snapshot with one bright pixel per image at (x, y), labelled (lx, ly). */
function snap(items: [number, number, number, number][]): Snapshot {
  const images = new Float32Array(items.length * 64).fill(-1);
  const labels = new Float32Array(items.length * 2);
  items.forEach(([x, y, lx, ly], i) => {
    images[i * 64 + y * 8 + x] = 1;
    labels[2 * i] = lx;
    labels[2 * i + 1] = ly;
  });
  return { runId: 'r', step: 1, size: 8, labels, images, activations: new Float32Array(0), dim: 0 };
}

describe('examples/imbalance', function () {
  this.timeout(180_000);
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-imb-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('scales the seed cases to the image size and measures accuracy per axis', () => {
    expect(scaledCases(16)).to.deep.equal([
      { case: 'strong', dx: 0.05, dy: 0.5 },
      { case: 'weak', dx: 0.25, dy: 0.5 },
    ]);
    // x right, y wrong; both right; x wrong, y right; both wrong
    const a = axisAccuracy(
      snap([
        [2, 2, 2, 6],
        [4, 4, 4.5, 3.5],
        [0, 5, 6, 5],
        [7, 0, 0, 7],
      ]),
    );
    expect(a).to.deep.equal({ x: 0.5, y: 0.5 });
  });

  it('picks the cases IMBALANCE_CASES names, all by default, one line for an unknown one', () => {
    expect(casesFrom(undefined, 16)).to.deep.equal(scaledCases(16));
    expect(casesFrom('strong', 16)).to.deep.equal([{ case: 'strong', dx: 0.05, dy: 0.5 }]);
    expect(casesFrom(' weak , strong', 32).map((c) => c.case)).to.deep.equal(['strong', 'weak']);
    expect(() => casesFrom('strng', 16)).to.throw(
      /^IMBALANCE_CASES must name cases among strong, weak \(got "strng"\)$/,
    );
  });

  it('runs both cases with per-axis metrics at every snapshot and a summary of R²x against R²y', async () => {
    const events = await lastValueFrom(imbalance(tinyContext(runsDir)).pipe(toArray()));
    const runs = readdirSync(runsDir);
    expect(runs).to.have.length(3);
    for (const c of scaledCases(8)) {
      const runId = `imbalance-dx${c.dx}_dy${c.dy}_seed1`;
      expect(runs).to.include(runId);
      const stored = readRunEvents(join(runsDir, runId));
      const at = (name: string): number[] =>
        stored.flatMap((e) => (e.type === 'metric' && e.name === name ? [e.step] : []));
      expect(at('axis/acc-x')).to.deep.equal([4, 8, 12]);
      expect(at('axis/acc-y')).to.deep.equal([4, 8, 12]);
      expect(at('phase/r2x')).to.deep.equal([4, 8, 12]);
    }
    const summary = events
      .filter((e) => e.type === 'curve')
      .map((e) => (e.type === 'curve' ? e.name : ''));
    expect(summary).to.include.members([
      'imbalance/r2y-vs-r2x@strong',
      'imbalance/r2y-vs-r2x@weak',
      'imbalance/accy-vs-accx@strong',
    ]);
    const r2 = events.find((e) => e.type === 'curve' && e.name === 'imbalance/r2y-vs-r2x@weak');
    expect(r2?.type === 'curve' && r2.x).to.have.length(3);
  });
});
