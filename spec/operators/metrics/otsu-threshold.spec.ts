import { expect } from 'chai';
import { otsuThreshold } from '../../../operators/metrics/otsu-threshold.js';

describe('otsuThreshold', () => {
  it('splits two groups in the middle of the gap', () => {
    const t = otsuThreshold(Float32Array.of(-1, -1, -0.9, 0.8, 1));
    expect(t).to.be.greaterThan(-0.9).and.lessThan(0.8);
    expect(t).to.be.closeTo(-0.05, 0.02);
  });

  it('separates a small bright class from a large dark one', () => {
    const v = new Float32Array(1000).fill(-1);
    for (let i = 0; i < 10; i++) v[i] = 0.9 + i * 0.01;
    for (let i = 10; i < 1000; i++) v[i] = -1 + (i % 7) * 0.01;
    const t = otsuThreshold(v);
    expect(t).to.be.greaterThan(-0.94).and.lessThan(0.9);
  });

  it('returns the constant for constant input and NaN for no finite values', () => {
    expect(otsuThreshold(Float32Array.of(0.5, 0.5))).to.equal(0.5);
    expect(Number.isNaN(otsuThreshold(Float32Array.of(Number.NaN)))).to.equal(true);
  });

  it('rejects bad bins', () => {
    expect(() => otsuThreshold(Float32Array.of(1, 2), 1)).to.throw(/^bins must be an integer >= 2/);
  });
});
