import { expect } from 'chai';
import { molrg, molrgPosteriorMean, sigmaFromAlphaBar } from '../../streams/molrg.js';
import { projectedEnergy } from '../../operators/metrics/csnr.js';
import { mulberry32 } from '../../streams/mulberry32.js';

const SHAPE = { classes: 3, subspaceDim: 4, ambientDim: 20, noise: 0.3 };

describe('molrg', () => {
  it('is a vector Dataset with the class as label and field', () => {
    const d = molrg({ ...SHAPE, count: 50, seed: 1 });
    expect(d.shape).to.deep.equal([20]);
    expect(d.size).to.equal(20);
    expect(d.labelDim).to.equal(1);
    expect(d.image(3)).to.have.length(20);
    expect([...d.image(3)]).to.deep.equal([...d.data.subarray(60, 80)]);
    expect(d.fields?.class[7]).to.equal(d.classOf[7]);
    expect(d.labels[7]).to.equal(d.classOf[7]);
    expect(() => d.image(50)).to.throw(/index must be an integer in \[0, 49\] \(got 50\)/);
  });

  it('has orthonormal, mutually orthogonal bases shared across sample seeds', () => {
    const a = molrg({ ...SHAPE, count: 10, seed: 1 });
    const b = molrg({ ...SHAPE, count: 10, seed: 2 });
    expect([...a.bases[1]]).to.deep.equal([...b.bases[1]]);
    const n = SHAPE.ambientDim;
    const rows = a.bases.flatMap((U) =>
      Array.from({ length: SHAPE.subspaceDim }, (_, r) => U.subarray(r * n, (r + 1) * n)),
    );
    for (let i = 0; i < rows.length; i++) {
      for (let j = 0; j < rows.length; j++) {
        let s = 0;
        for (let c = 0; c < n; c++) s += rows[i][c] * rows[j][c];
        expect(s).to.be.closeTo(i === j ? 1 : 0, 1e-5);
      }
    }
  });

  it('puts energy d on the own subspace and δ² per dimension elsewhere', () => {
    const d = molrg({ ...SHAPE, count: 4000, seed: 3 });
    let own = 0;
    let other = 0;
    let total = 0;
    for (let i = 0; i < d.count; i++) {
      const x = d.data.subarray(i * 20, (i + 1) * 20);
      own += projectedEnergy(x, d.bases[d.classOf[i]], 20);
      other += projectedEnergy(x, d.bases[(d.classOf[i] + 1) % 3], 20);
      for (const v of x) total += v * v;
    }
    expect(own / d.count).to.be.closeTo(4, 0.15);
    expect(other / d.count).to.be.closeTo(4 * 0.09, 0.03);
    expect(total / d.count).to.be.closeTo(4 + 16 * 0.09, 0.15);
    let counts = [0, 0, 0];
    for (const k of d.classOf) counts[k]++;
    counts = counts.map((c) => c / d.count);
    for (const c of counts) expect(c).to.be.closeTo(1 / 3, 0.03);
  });

  it('has the optimal denoiser as posterior mean: lower error than the identity or any rescaling', () => {
    const d = molrg({ ...SHAPE, count: 3000, seed: 4 });
    const sigma = 0.8;
    const noise = gaussian(d.data.length, 6);
    const yt = Float32Array.from(d.data, (v, i) => v + sigma * noise[i]);
    const post = d.posteriorMean(yt, sigma);
    const mse = (a: Float32Array): number =>
      a.reduce((s, v, i) => s + (v - d.data[i]) ** 2, 0) / d.count;
    const best = mse(post);
    expect(best).to.be.below(mse(yt));
    for (const c of [0.8, 0.9, 1.1, 1.25]) expect(best).to.be.below(mse(post.map((v) => v * c)));
  });

  it('returns the input at σ = 0 and shrinks towards the class subspace as σ grows', () => {
    const d = molrg({ ...SHAPE, count: 20, seed: 7 });
    const same = molrgPosteriorMean(d, d.data, 0);
    for (let i = 0; i < same.length; i++) expect(same[i]).to.be.closeTo(d.data[i], 1e-5);
    const post = d.posteriorMean(d.data, 1);
    for (let i = 0; i < 20; i++) {
      const x = d.data.subarray(i * 20, (i + 1) * 20);
      const p = post.subarray(i * 20, (i + 1) * 20);
      const U = d.bases[d.classOf[i]];
      const ratio = (v: Float32Array): number =>
        projectedEnergy(v, U, 20) / v.reduce((s, a) => s + a * a, 0);
      expect(ratio(p)).to.be.above(ratio(x));
    }
  });

  it('maps ᾱ to the EDM σ and rejects bad options with one-line errors', () => {
    expect(sigmaFromAlphaBar(0.5)).to.be.closeTo(1, 1e-12);
    expect(() => molrg({ classes: 1 })).to.throw(/molrg classes must be an integer >= 2 \(got 1\)/);
    expect(() => molrg({ classes: 3, subspaceDim: 8, ambientDim: 20 })).to.throw(
      /ambientDim must be an integer >= classes\*subspaceDim = 24 \(got 20\)/,
    );
    expect(() => molrg({ noise: 1 })).to.throw(
      /molrg noise must be a number in \(0, 1\) \(got 1\)/,
    );
    expect(() => molrg({ basis: 'x' as 'axis' })).to.throw(
      /molrg basis must be one of random, axis/,
    );
    const d = molrg({ ...SHAPE, count: 2 });
    expect(() => d.posteriorMean(new Float32Array(7), 1)).to.throw(/N\*20 values \(got 7\)/);
    expect(() => d.posteriorMean(d.data, -1)).to.throw(/sigma must be a finite number >= 0/);
  });
});

function gaussian(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()),
  );
}
