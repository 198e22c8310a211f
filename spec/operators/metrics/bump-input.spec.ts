import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import { from } from 'rxjs';
import { assessSnapshot } from '../../../operators/metrics/assess-snapshot.js';
import { checkBumpInput } from '../../../operators/metrics/bump-input.js';
import { classifyPhase } from '../../../operators/metrics/classify-phase.js';
import { bumpShape } from '../../../operators/metrics/locate-bump.js';
import { assessPhases } from '../../../operators/assess-phases.js';
import { phaseEvents } from '../../../operators/phase-events.js';
import { assessmentMetrics } from '../../../operators/assessment-events.js';
import type { Snapshot } from '../../../streams/events.js';
import { gaussianBumps } from '../../../streams/gaussian-bumps.js';
import { syntheticSnapshot } from '../synthetic-snapshot.js';
import { twoMoons } from '../two-moons.js';

const SIZE = 16;

/** A snapshot of the bump dataset's own renders (what a model that has learned draws). */
function realBumps(sigma: number, dx: number): Snapshot {
  const d = gaussianBumps({ size: SIZE, dx, sigma });
  const n = 150;
  const labels = new Float32Array(2 * n);
  const images = new Float32Array(n * SIZE * SIZE);
  const activations = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const j = Math.floor((i * d.count) / n);
    labels.set(d.labels.subarray(2 * j, 2 * j + 2), 2 * i);
    images.set(d.image(j), i * SIZE * SIZE);
    activations.set(d.labels.subarray(2 * j, 2 * j + 2), 2 * i);
  }
  return { runId: 'bumps', step: 1, labels, images, activations, size: SIZE, dim: 2 };
}

describe('checkBumpInput (is the snapshot what the bump rule assumes?)', () => {
  it('bumpShape: a Gaussian bump reads ≈ 1, a flat disk ≈ 2', () => {
    const g = bumpShape(gaussianBumps({ size: SIZE, dx: 1 }).image(40), SIZE);
    expect(g.count).to.equal(1);
    expect(g.gaussianity).to.be.within(0.9, 1.1);
    expect(g.sigma).to.be.within(0.9, 1.05);
    const disk = twoMoons({ n: 1 });
    expect(bumpShape(disk.images, SIZE).gaussianity).to.be.within(1.8, 2.2);
  });

  it('passes the bump dataset’s renders, whatever σ and lattice, and the synthetic phases', () => {
    for (const [sigma, dx] of [
      [0.6, 1],
      [1, 1],
      [1, 0.5],
      [1.5, 0.5],
      [2, 1],
    ]) {
      const c = checkBumpInput(realBumps(sigma, dx));
      expect(c, `σ ${sigma} dx ${dx}`).to.include({ ok: true, labelsInImage: 1 });
      expect(c.bumpLike, `σ ${sigma} dx ${dx}`).to.be.at.least(0.9);
    }
    for (const kind of [
      'ordered',
      'shuffled',
      'noise',
      'encoding-none',
      'encoding-wrong',
    ] as const) {
      expect(checkBumpInput(syntheticSnapshot(kind)).ok, kind).to.equal(true);
    }
  });

  it('two-moons points drawn as disk markers: the rule alone says C; the assessment withholds it and says why', async () => {
    const snap = twoMoons();
    const c = checkBumpInput(snap);
    expect(c.ok).to.equal(false);
    expect(c.labelsInImage).to.equal(1);
    expect(c.bumpLike).to.be.below(0.1);
    const a = await assessSnapshot(snap, { embed: 'pca' });
    // The figures the rule reads all say C …
    expect(a.phase).to.equal('C');
    expect(
      classifyPhase({
        oneBump: a.bumps.one,
        accuracyOneBump: a.evidence.accuracyOneBump,
        r2mean: a.r2.mean,
        neighbourhood: a.evidence.neighbourhood,
      }),
    ).to.equal('C');
    // … but they do not mean what it reads.
    expect(a.evidence).to.include({ inputOk: 0, labelsInImage: 1 });
    expect(a.warning).to.match(
      /^phase not judged: only \d+% of the one-blob images hold a compact Gaussian-like bump \(the bump rule needs most/,
    );
    expect(a.warning).not.to.include('\n');
  });

  it('labels in data units, not pixels: withheld, naming the labels', async () => {
    const snap = twoMoons({ gaussian: true, radius: 1, dataUnits: true });
    const c = checkBumpInput(snap);
    expect(c.ok).to.equal(false);
    expect(c.warning).to.match(
      /^only \d+% of the labels lie inside the 16×16 image \(the bump rule needs \(x, y\) pixel positions of the bump centres\)$/,
    );
    // Gaussian markers at the labels' own pixels are bump images: nothing to say.
    expect(checkBumpInput(twoMoons({ gaussian: true, radius: 1 })).ok).to.equal(true);
  });

  it('a withheld verdict moves no confirmed phase, emits no phase event, and raises a warning alert', async () => {
    const good = { ...syntheticSnapshot('noise'), step: 1 };
    const moons = { ...twoMoons(), step: 2 };
    const assessed = await lastValueFrom(
      from([good, moons]).pipe(assessPhases({ embed: 'pca', confirm: 1 }), toArray()),
    );
    expect(assessed.map((a) => [a.phase, a.rawPhase, a.warning === undefined])).to.deep.equal([
      ['A', 'A', true],
      ['A', 'C', false],
    ]);
    const phases = await lastValueFrom(from(assessed).pipe(phaseEvents(), toArray()));
    expect(phases.map((e) => e.type === 'phase' && [e.from, e.to])).to.deep.equal([[null, 'A']]);
    const alerts = assessmentMetrics(assessed[1]).filter((e) => e.type === 'alert');
    expect(alerts).to.have.length(1);
    expect(alerts[0]).to.include({ level: 'warning', step: 2 });
    expect((alerts[0] as { message: string }).message).to.match(
      /^snapshot at step 2: phase not judged: only/,
    );
    expect(assessmentMetrics(assessed[0]).filter((e) => e.type === 'alert')).to.have.length(0);
  });
});
