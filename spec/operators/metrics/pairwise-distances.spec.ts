import { expect } from 'chai';
import { pairwiseDistances } from '../../../operators/metrics/pairwise-distances.js';

describe('pairwiseDistances', () => {
  it('gives the symmetric Euclidean distance matrix with exact zeros for duplicates', () => {
    const d = pairwiseDistances(Float32Array.of(0, 0, 3, 4, 0, 0), 2);
    expect(Array.from(d)).to.deep.equal([0, 5, 0, 5, 0, 5, 0, 5, 0]);
  });

  it('rejects a length that is not a multiple of dim', () => {
    expect(() => pairwiseDistances(new Float32Array(5), 2)).to.throw(
      /^data length must be a multiple of dim = 2 \(got 5\)$/,
    );
    expect(() => pairwiseDistances(new Float32Array(4), 0)).to.throw(
      /^dim must be a positive integer/,
    );
  });
});
