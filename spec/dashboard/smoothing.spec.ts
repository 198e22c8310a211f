import { expect } from 'chai';
import fc from 'fast-check';
import { smoothEma } from '../../dashboard/smoothing.js';

describe('dashboard smoothing (debiased EMA)', () => {
  it('leaves a series unchanged at weight 0 and a constant series unchanged at any weight', () => {
    expect(smoothEma([3, 1, 4, 1, 5], 0)).to.deep.equal([3, 1, 4, 1, 5]);
    for (const v of smoothEma([2, 2, 2, 2], 0.95)) expect(v).to.be.closeTo(2, 1e-12);
  });

  it('is the weighted mean of the points so far, weights decaying by the weight', () => {
    const w = 0.6;
    const [a, b, c] = smoothEma([1, 5, 2], w);
    expect(a).to.be.closeTo(1, 1e-12);
    expect(b).to.be.closeTo((w * 1 + 5) / (w + 1), 1e-12);
    expect(c).to.be.closeTo((w * w * 1 + w * 5 + 2) / (w * w + w + 1), 1e-12);
  });

  it('stays within the range of the points so far and passes non-finite values through', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (ys, w) => {
          const out = smoothEma(ys, w);
          for (let i = 0; i < ys.length; i++) {
            const seen = ys.slice(0, i + 1);
            expect(out[i]).to.be.at.least(Math.min(...seen) - 1e-6);
            expect(out[i]).to.be.at.most(Math.max(...seen) + 1e-6);
          }
        },
      ),
    );
    const out = smoothEma([1, NaN, 3], 0.5);
    expect(Number.isNaN(out[1])).to.equal(true);
    expect(out[2]).to.be.closeTo((0.5 * 1 + 3) / 1.5, 1e-12);
  });

  it('rejects a weight outside [0, 1), naming it', () => {
    expect(() => smoothEma([1], 1)).to.throw('smoothing weight must be in [0, 1) (got 1)');
    expect(() => smoothEma([1], -0.1)).to.throw('(got -0.1)');
  });
});
