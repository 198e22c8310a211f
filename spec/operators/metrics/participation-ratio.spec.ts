import { expect } from 'chai';
import fc from 'fast-check';
import {
  normalizedParticipation,
  participationRatio,
} from '../../../operators/metrics/participation-ratio.js';

describe('participationRatio', () => {
  it('is 1 for a one-hot vector and the dimension for a uniform one', () => {
    expect(participationRatio([0, 0, -2.5, 0])).to.equal(1);
    expect(participationRatio([1, 1, 1])).to.be.closeTo(3, 1e-12);
    expect(participationRatio(Float64Array.of(0.3, -0.3, 0.3, 0.3, -0.3))).to.be.closeTo(5, 1e-12);
    expect(participationRatio([0, 0])).to.equal(0);
  });

  it('lies in [1, d] and ignores scale', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.integer({ min: -1000, max: 1000 }).map((v) => v / 100),
          { minLength: 1, maxLength: 12 },
        ),
        fc.double({ min: 0.1, max: 10, noNaN: true }),
        (w, k) => {
          const pr = participationRatio(w);
          if (w.every((v) => v === 0)) return pr === 0;
          const scaled = participationRatio(w.map((v) => v * k));
          return pr >= 1 - 1e-9 && pr <= w.length + 1e-9 && Math.abs(scaled - pr) < 1e-6 * pr;
        },
      ),
    );
  });

  it("gives the seed's normalised form: 1 one-hot, √d uniform", () => {
    expect(normalizedParticipation([0, 4, 0])).to.equal(1);
    expect(normalizedParticipation([1, -1, 1, 1])).to.be.closeTo(2, 1e-12);
  });

  it('rejects non-finite weights naming the index', () => {
    expect(() => participationRatio([1, Number.NaN])).to.throw(
      /weights must be finite \(got NaN at 1\)/,
    );
  });
});
