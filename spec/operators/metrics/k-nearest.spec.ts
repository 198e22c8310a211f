import { expect } from 'chai';
import { kNearest } from '../../../operators/metrics/k-nearest.js';

describe('kNearest', () => {
  it('lists neighbours nearest first, self excluded, ties by lower index', () => {
    const nn = kNearest(Float32Array.of(0, 1, 5, 2), 1, 2);
    expect(nn.k).to.equal(2);
    expect(Array.from(nn.indices)).to.deep.equal([1, 3, 0, 3, 3, 1, 1, 0]);
    expect(Array.from(nn.distances)).to.deep.equal([1, 2, 1, 1, 3, 4, 1, 2]);
  });

  it('caps k at N - 1 and rejects a bad k', () => {
    expect(kNearest(Float32Array.of(0, 1), 1, 5).k).to.equal(1);
    expect(() => kNearest(Float32Array.of(0, 1), 1, 0)).to.throw(/^k must be a positive integer/);
  });
});
