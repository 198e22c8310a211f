import { expect } from 'chai';
import { lastValueFrom, of, toArray } from 'rxjs';
import { conditionalMse } from '../../operators/conditional-mse.js';
import type { EventInput, ImagesEvent, Snapshot } from '../../streams/events.js';
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
const d = disks({ size: 16, count: 6, seed: 1 });
const guides = new Float32Array(6 * 256);
for (let i = 0; i < 6; i++) guides.set(d.image(i), i * 256);

function metrics(events: EventInput[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) if (e.type === 'metric') out[e.name] = e.value;
  return out;
}

describe('conditionalMse', () => {
  it('measures guided samples against their guides, unguided ones alongside', async () => {
    const { model } = fakeDiva({ size: 16, noise: 0.1 });
    const events = await lastValueFrom(
      of(snap(3), snap(6)).pipe(
        conditionalMse({ model, guides, size: 16, perGuide: 3, show: 2 }),
        toArray(),
      ),
    );
    const m = metrics(events.filter((e) => e.step === 3));
    // Samples are guide + 0.1·sin(i): MSE ≈ 0.01/2.
    expect(m['diva/conditional-mse']).to.be.closeTo(0.005, 0.001);
    // Unguided samples are 0: MSE is the guides' mean square.
    const meanSquare = guides.reduce((s, v) => s + v * v, 0) / guides.length;
    expect(m['diva/unconditional-mse']).to.be.closeTo(meanSquare, 1e-6);
    expect(m['diva/mean-image-mse']).to.be.greaterThan(0);
    const grid = events.find(
      (e): e is Extract<EventInput, { type: 'images' }> => e.type === 'images',
    ) as Omit<ImagesEvent, 'seq' | 'runId' | 'time'>;
    expect(grid.name).to.equal('diva/conditional');
    expect(grid.size).to.equal(16);
    expect(grid.thumbs.map((t) => t.caption)).to.deep.equal([
      'guide 0',
      'sample 0.0',
      'sample 0.1',
      'sample 0.2',
      'guide 1',
      'sample 1.0',
      'sample 1.1',
      'sample 1.2',
    ]);
    expect(grid.thumbs[0].pixels.length).to.equal(256);
    expect(events.filter((e) => e.step === 6).length).to.equal(4);
  });

  it('samples at further guidance scales, each its own metric', async () => {
    const { model } = fakeDiva({ size: 16, noise: 0.1 });
    const m = metrics(
      await lastValueFrom(
        of(snap(2)).pipe(
          conditionalMse({
            model,
            guides,
            size: 16,
            samplers: [{}, { guidance: 2 }, { method: 'algorithm1', guidance: 1 }],
            show: 0,
          }),
          toArray(),
        ),
      ),
    );
    expect(m['diva/conditional-mse']).to.be.closeTo(0.005, 0.001);
    // Deviation halved at scale 2: MSE quartered.
    expect(m['diva/conditional-mse/ddim-x2']).to.be.closeTo(m['diva/conditional-mse'] / 4, 1e-6);
    expect(m['diva/conditional-mse/algorithm1-x1']).to.be.closeTo(m['diva/conditional-mse'], 1e-9);
    expect(m['diva/conditional-mse/ddim-x1']).to.equal(undefined);
  });

  it('rejects bad options naming them', () => {
    const { model } = fakeDiva({ size: 16 });
    expect(() => conditionalMse({ model, guides: new Float32Array(10), size: 16 })).to.throw(
      /guides must be a Float32Array of N\*256 values \(got 10\)/,
    );
    expect(() => conditionalMse({ model, guides, size: 16, perGuide: 0 })).to.throw(/perGuide/);
    expect(() => conditionalMse({ model, guides, size: 16, samplers: [] })).to.throw(
      /samplers must be a non-empty array .* \(got \[\]\)/,
    );
    expect(() =>
      conditionalMse({ model, guides, size: 16, samplers: [{ guidance: -1 }] }),
    ).to.throw(/samplers must be .*"guidance":-1/);
    expect(() => conditionalMse({ model, guides, size: 16, show: 7 })).to.throw(
      /show must be an integer in \[0, 6\] \(got 7\)/,
    );
  });
});
