import { expect } from 'chai';
import { linearR2 } from '../../../operators/metrics/linear-r2.js';
import { mulberry32 } from '../../../streams/mulberry32.js';
import { pcaEmbed } from '../../../operators/metrics/pca-embed.js';

describe('pcaEmbed', () => {
  it('recovers the dominant axes of anisotropic data, in order', () => {
    const rand = mulberry32(2);
    const n = 200;
    const dim = 10;
    const a = Float32Array.from({ length: n }, () => rand() * 20 - 10);
    const b = Float32Array.from({ length: n }, () => rand() * 4 - 2);
    const data = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < dim; j++) data[i * dim + j] = 0.01 * rand();
      data[i * dim + 3] += a[i];
      data[i * dim + 7] += b[i];
    }
    const out = pcaEmbed(data, dim, 2);
    const first = out.filter((_, i) => i % 2 === 0);
    const second = out.filter((_, i) => i % 2 === 1);
    expect(linearR2(first, 1, a)).to.be.greaterThan(0.999);
    expect(linearR2(second, 1, b)).to.be.greaterThan(0.99);
  });

  it('is deterministic and sign-stable', () => {
    const rand = mulberry32(9);
    const data = Float32Array.from({ length: 50 * 8 }, () => rand());
    expect(Array.from(pcaEmbed(data, 8))).to.deep.equal(Array.from(pcaEmbed(data, 8)));
    const neg = Float32Array.from(data, (v) => -v);
    const p = pcaEmbed(data, 8);
    const q = pcaEmbed(neg, 8);
    // Flipping the data flips the scores, but the sign rule makes the axes the same.
    for (let i = 0; i < p.length; i++) expect(q[i]).to.be.closeTo(-p[i], 1e-3);
  });

  it('pads rank-deficient data with zero components', () => {
    const out = pcaEmbed(Float32Array.of(0, 0, 1, 1), 2, 3);
    expect(out.length).to.equal(6);
    expect(out[2]).to.equal(0);
    expect(Math.abs(out[0] - out[3])).to.be.closeTo(Math.SQRT2, 1e-6);
  });
});
