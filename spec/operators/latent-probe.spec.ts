import { expect } from 'chai';
import { lastValueFrom, of, toArray } from 'rxjs';
import { latentProbe } from '../../operators/latent-probe.js';
import type { EventInput, Snapshot } from '../../streams/events.js';
import { disks } from '../../streams/disks.js';
import { fakeDiva } from './diva-fake.js';

const snap = (step: number): Snapshot => ({
  runId: 'r',
  step,
  size: 16,
  labels: new Float32Array(0),
  images: new Float32Array(0),
  activations: new Float32Array(0),
  dim: 0,
});
// Disks whose contrast is never near zero, so the fake encoder reads the centre exactly.
const probe = disks({ size: 16, count: 300, seed: 5, foreground: 1 });

function metrics(events: EventInput[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) if (e.type === 'metric') out[e.name] = e.value;
  return out;
}

describe('latentProbe', () => {
  it('reads every factor out with R² 1 and participation 1 from an axis-aligned code', async () => {
    const { model } = fakeDiva({ size: 16 });
    const events = await lastValueFrom(of(snap(10)).pipe(latentProbe({ model, probe }), toArray()));
    const m = metrics(events);
    for (const f of ['cx', 'cy', 'background']) {
      expect(m[`diva/r2/${f}`]).to.be.greaterThan(0.9999);
      expect(m[`diva/participation/${f}`]).to.be.closeTo(1, 1e-3);
    }
    // Each factor has its own axis: TAD near ½ per factor, all three captured.
    expect(m['diva/tad']).to.be.within(1.3, 1.5);
    expect(m['diva/tad/captured']).to.equal(3);
    const matrix = events.find((e) => e.type === 'matrix');
    expect(matrix).to.deep.include({ name: 'diva/probe-weights', rows: 3, cols: 3, step: 10 });
    expect(events.every((e) => e.step === 10)).to.equal(true);
  });

  it('reports participation 2 when a factor is spread evenly over two axes', async () => {
    const r = Math.SQRT1_2;
    const { model } = fakeDiva({
      size: 16,
      mix: [
        [r, r, 0],
        [-r, r, 0],
        [0, 0, 1],
      ],
    });
    const m = metrics(
      await lastValueFrom(
        of(snap(1)).pipe(latentProbe({ model, probe, fields: ['cx', 'background'] }), toArray()),
      ),
    );
    expect(m['diva/r2/cx']).to.be.greaterThan(0.9999);
    // cx and cy have (nearly) the same spread, so cx loads equally on z0 and z1.
    expect(m['diva/participation/cx']).to.be.closeTo(2, 0.05);
    expect(m['diva/participation/background']).to.be.closeTo(1, 1e-3);
    expect(m['diva/r2/cy']).to.equal(undefined);
    // The rotated centre leaves only the background cleanly on one axis.
    expect(m['diva/tad']).to.be.below(0.8);
  });

  it('gives R² near 0 for a factor the code does not hold', async () => {
    const { model } = fakeDiva({ size: 16, mix: [[0, 0, 1]] });
    const m = metrics(
      await lastValueFrom(of(snap(1)).pipe(latentProbe({ model, probe, tad: false }), toArray())),
    );
    expect(m['diva/r2/background']).to.be.greaterThan(0.9999);
    expect(m['diva/r2/cx']).to.be.below(0.05);
    expect(m['diva/tad']).to.equal(undefined);
  });

  it('rejects bad options naming them', () => {
    const { model } = fakeDiva({ size: 16 });
    expect(() => latentProbe({ model, probe, fields: ['size'] })).to.throw(
      /field "size" is not a field of the probe \(has cx, cy, background\)/,
    );
    expect(() => latentProbe({ model, probe, count: 1 })).to.throw(
      /count must be an integer in \[2, 300\] \(got 1\)/,
    );
    expect(() => latentProbe({ model, probe: { ...probe, fields: undefined } })).to.throw(
      /ground-truth fields/,
    );
  });
});
