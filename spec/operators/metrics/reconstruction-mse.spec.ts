import { expect } from 'chai';
import { meanImageMse, reconstructionMse } from '../../../operators/metrics/reconstruction-mse.js';

describe('reconstructionMse', () => {
  it('averages the squared error of each guide’s samples against that guide', () => {
    const guides = Float32Array.of(0, 0, 1, 1);
    // Two samples per guide, guide-major.
    const samples = Float32Array.of(0, 0, 1, 1, 1, 1, 1, 3);
    // errors²: 0 0 | 1 1 | 0 0 | 0 4 → 6 / 8
    expect(reconstructionMse(samples, guides, 2, 2)).to.be.closeTo(6 / 8, 1e-12);
    expect(reconstructionMse(guides, guides, 1, 2)).to.equal(0);
  });

  it('names the bad size', () => {
    expect(() => reconstructionMse(new Float32Array(3), new Float32Array(2), 2, 2)).to.throw(
      /samples must hold guides\*perGuide\*px = 4 values \(got 3\)/,
    );
    expect(() => reconstructionMse(new Float32Array(4), new Float32Array(2), 0, 2)).to.throw(
      /perGuide/,
    );
  });
});

describe('meanImageMse', () => {
  it('is the mean squared deviation from the mean image', () => {
    expect(meanImageMse(Float32Array.of(0, 4, 2, 0), 2)).to.be.closeTo((1 + 4 + 1 + 4) / 4, 1e-12);
    expect(meanImageMse(Float32Array.of(1, 2, 1, 2), 2)).to.equal(0);
  });
});
