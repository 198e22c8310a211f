import { expect } from 'chai';
import {
  classBases,
  classConfidence,
  csnr,
  csnrClosedForm,
  projectedEnergy,
} from '../../../operators/metrics/csnr.js';
import { molrg } from '../../../streams/molrg.js';

const SHAPE = { classes: 3, subspaceDim: 6, ambientDim: 40, noise: 0.3 };

describe('csnrClosedForm', () => {
  it('matches the CSNR of the analytic posterior (expected softmax weights) on MoLRG samples', () => {
    const d = molrg({ ...SHAPE, count: 3000, seed: 4 });
    for (const sigma of [0, 0.2, 0.5, 1, 3]) {
      const post = d.posteriorMean(d.data, sigma, { expectedWeights: d.classOf });
      const measured = csnr(post, d.classOf, d.bases, d.ambientDim);
      const closed = csnrClosedForm({ ...SHAPE, sigma });
      expect(measured / closed, `σ = ${sigma}`).to.be.within(0.97, 1.03);
    }
  });

  it('is within 25 % of the CSNR of the exact posterior (the seed’s approximation; worst ≈ 18 % near the peak)', () => {
    const d = molrg({ ...SHAPE, count: 2000, seed: 5 });
    for (const sigma of [0.2, 0.5, 1, 3]) {
      const exact = csnr(d.posteriorMean(d.data, sigma), d.classOf, d.bases, d.ambientDim);
      expect(exact / csnrClosedForm({ ...SHAPE, sigma }), `σ = ${sigma}`).to.be.within(0.75, 1.25);
    }
  });

  it('is unimodal in σ: 1/((K-1)δ²) at σ = 0 and as σ → ∞, higher in between', () => {
    const base = 1 / ((SHAPE.classes - 1) * SHAPE.noise ** 2);
    expect(csnrClosedForm({ ...SHAPE, sigma: 0 })).to.be.closeTo(base, 1e-9);
    const sigmas = Array.from({ length: 60 }, (_, i) => 0.05 * 1.1 ** i);
    const values = sigmas.map((sigma) => csnrClosedForm({ ...SHAPE, sigma }));
    const peak = values.indexOf(Math.max(...values));
    expect(peak).to.be.within(1, values.length - 2);
    for (let i = 1; i <= peak; i++) expect(values[i]).to.be.at.least(values[i - 1]);
    for (let i = peak + 1; i < values.length; i++) expect(values[i]).to.be.at.most(values[i - 1]);
    expect(values[values.length - 1] / base).to.be.within(1, 1.05);
  });

  it('has class confidences that sum to one and fall from 1 towards 1/K', () => {
    const lo = classConfidence(3, 6, 0.3, 0.01);
    const hi = classConfidence(3, 6, 0.3, 100);
    expect(lo.hPlus + 2 * lo.hMinus).to.be.closeTo(1, 1e-12);
    expect(lo.hPlus).to.be.above(0.99);
    expect(hi.hPlus).to.be.closeTo(1 / 3, 1e-3);
  });

  it('rejects bad input', () => {
    expect(() => csnrClosedForm({ ...SHAPE, noise: 1.2, sigma: 1 })).to.throw(
      /noise must be in \(0, 1\) \(got 1.2\)/,
    );
    expect(() => csnrClosedForm({ ...SHAPE, classes: 1, sigma: 1 })).to.throw(
      /classes must be an integer >= 2/,
    );
    expect(() => csnrClosedForm({ ...SHAPE, sigma: -1 })).to.throw(/sigma must be/);
  });
});

describe('csnr / classBases', () => {
  it('is infinite with no off-class energy and counts energies per class basis', () => {
    const U0 = new Float32Array([1, 0, 0, 0]);
    const U1 = new Float32Array([0, 1, 0, 0]);
    expect(projectedEnergy([3, 4, 0, 0], U1, 4)).to.equal(16);
    expect(csnr(new Float32Array([2, 0, 1, 0]), [0], [U0, U1], 4)).to.equal(Infinity);
    expect(csnr(new Float32Array([2, 1, 0, 0, 0, 3, 0, 0]), [0, 1], [U0, U1], 4)).to.equal(13 / 1);
    expect(() => csnr(new Float32Array(4), [2], [U0, U1], 4)).to.throw(
      /labels\[0\] must be a class in 0..1 \(got 2\)/,
    );
  });

  it('recovers the MoLRG subspaces from samples', () => {
    const d = molrg({ ...SHAPE, count: 1500, seed: 6 });
    const bases = classBases(d.data, d.classOf, d.ambientDim, 3, SHAPE.subspaceDim);
    for (let k = 0; k < 3; k++) {
      // Each fitted basis vector lies (almost) inside the true subspace.
      for (let r = 0; r < SHAPE.subspaceDim; r++) {
        const v = bases[k].subarray(r * d.ambientDim, (r + 1) * d.ambientDim);
        expect(projectedEnergy(v, d.bases[k], d.ambientDim)).to.be.above(0.9);
      }
    }
    // And CSNR with fitted bases is close to CSNR with the true ones.
    const withTrue = csnr(d.data, d.classOf, d.bases, d.ambientDim);
    expect(csnr(d.data, d.classOf, bases, d.ambientDim) / withTrue).to.be.within(0.9, 1.1);
  });
});
