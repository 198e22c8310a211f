import { expect } from 'chai';
import { mulberry32 } from '../../../streams/mulberry32.js';
import { twoNN } from '../../../operators/metrics/two-nn.js';

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

describe('twoNN', () => {
  it('estimates ≈ 2 for a 2-D plane embedded in 50-D', () => {
    const rand = mulberry32(1);
    const n = 400;
    const dim = 50;
    const u = Array.from({ length: dim }, () => gaussian(rand));
    const v = Array.from({ length: dim }, () => gaussian(rand));
    const data = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const [a, b] = [rand(), rand()];
      for (let j = 0; j < dim; j++) data[i * dim + j] = a * u[j] + b * v[j];
    }
    expect(twoNN(data, dim)).to.be.closeTo(2, 0.35);
  });

  it('estimates ≈ 5 for a 5-D gaussian', () => {
    const rand = mulberry32(2);
    const data = Float32Array.from({ length: 500 * 5 }, () => gaussian(rand));
    expect(twoNN(data, 5)).to.be.closeTo(5, 0.8);
  });

  it('drops duplicates (r1 = 0) and returns NaN when too few points remain', () => {
    const rand = mulberry32(3);
    const base = Float32Array.from({ length: 300 * 2 }, () => rand());
    const dup = new Float32Array(base.length * 2);
    dup.set(base);
    dup.set(base.subarray(0, 20), base.length);
    expect(twoNN(dup.subarray(0, base.length + 20), 2)).to.be.closeTo(2, 0.4);
    expect(Number.isNaN(twoNN(Float32Array.of(1, 1, 1, 1), 1))).to.equal(true);
    expect(Number.isNaN(twoNN(Float32Array.of(0, 1), 1))).to.equal(true);
  });
});
