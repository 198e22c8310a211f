import { expect } from 'chai';
import { linearR2 } from '../../../operators/metrics/linear-r2.js';
import { mulberry32 } from '../../../streams/mulberry32.js';
import { umapEmbed, umapEmbedAsync } from '../../../operators/metrics/umap-embed.js';
import { syntheticSnapshot } from '../synthetic-snapshot.js';

describe('umapEmbed', () => {
  const rand = mulberry32(5);
  const n = 120;
  const dim = 16;
  const data = Float32Array.from({ length: n * dim }, () => rand());

  it('gives identical output for the same input and seed', () => {
    const a = umapEmbed(data, dim, { seed: 3, nEpochs: 100 });
    const b = umapEmbed(data, dim, { seed: 3, nEpochs: 100 });
    expect(a.length).to.equal(n * 3);
    expect(Array.from(a)).to.deep.equal(Array.from(b));
    for (const v of a) expect(Number.isFinite(v)).to.equal(true);
  });

  it('gives different output for a different seed', () => {
    const a = umapEmbed(data, dim, { seed: 3, nEpochs: 100 });
    const b = umapEmbed(data, dim, { seed: 4, nEpochs: 100 });
    expect(Array.from(a)).not.to.deep.equal(Array.from(b));
  });

  it('has an async twin that yields to the event loop and gives the same output', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const a = await umapEmbedAsync(data, dim, { seed: 3, nEpochs: 300, sliceMs: 2 });
    clearInterval(timer);
    expect(Array.from(a)).to.deep.equal(
      Array.from(umapEmbed(data, dim, { seed: 3, nEpochs: 300 })),
    );
    expect(ticks).to.be.greaterThan(0);
    let err: unknown;
    await umapEmbedAsync(data, dim, { sliceMs: 0 }).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.match(/^sliceMs must be a number > 0/);
  });

  it('starts from PCA so an ordered 2-D sheet stays unfolded (linear in x and y)', () => {
    const s = syntheticSnapshot('ordered', 200, 1);
    const e = umapEmbed(s.activations, s.dim, { seed: 1, nEpochs: 150 });
    const lx = Float32Array.from({ length: 200 }, (_, i) => s.labels[2 * i]);
    const ly = Float32Array.from({ length: 200 }, (_, i) => s.labels[2 * i + 1]);
    expect(linearR2(e, 3, lx)).to.be.greaterThan(0.85);
    expect(linearR2(e, 3, ly)).to.be.greaterThan(0.85);
  });

  it('honours nComponents', () => {
    expect(umapEmbed(data, dim, { nComponents: 2, nEpochs: 50 }).length).to.equal(n * 2);
  });

  it('handles fewer points than nNeighbors + 1', () => {
    for (const m of [1, 2, 3, 5, 15]) {
      const out = umapEmbed(data.subarray(0, m * dim), dim, { nEpochs: 50 });
      expect(out.length).to.equal(m * 3);
      for (const v of out) expect(Number.isFinite(v)).to.equal(true);
    }
  });

  it('rejects bad options with one-line errors', () => {
    expect(() => umapEmbed(data, dim, { nNeighbors: 1 })).to.throw(
      /^nNeighbors must be an integer >= 2/,
    );
    expect(() => umapEmbed(data, dim, { nComponents: 0 })).to.throw(/^nComponents must be/);
    expect(() => umapEmbed(data, dim, { nEpochs: 0.5 })).to.throw(/^nEpochs must be/);
    expect(() => umapEmbed(data, dim, { init: 'spectral' as 'pca' })).to.throw(
      /^init must be 'pca' or 'random' \(got spectral\)$/,
    );
    expect(() => umapEmbed(data, 7)).to.throw(/^data length must be a multiple of dim = 7/);
  });
});
