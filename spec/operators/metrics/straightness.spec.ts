import { expect } from 'chai';
import { stepCosines, straightness } from '../../../operators/metrics/straightness.js';

describe('straightness', () => {
  it('is 1 for points along a straight line, at uneven speeds', () => {
    const ts = [0, 0.5, 2, 2.1, 5];
    const pts = Float64Array.from(ts.flatMap((t) => [1 + 2 * t, -t, 3 * t]));
    expect(straightness(pts, 3)).to.be.closeTo(1, 1e-12);
  });

  it('is 0 for right-angle turns and −1 for back-and-forth', () => {
    expect(straightness(Float32Array.of(0, 0, 1, 0, 1, 1, 0, 1), 2)).to.be.closeTo(0, 1e-12);
    expect(straightness(Float32Array.of(0, 1, 0, 1), 1)).to.equal(-1);
  });

  it('averages the cosines of consecutive differences', () => {
    const pts = Float32Array.of(0, 0, 1, 0, 2, 1);
    const c = stepCosines(pts, 2);
    expect(c.length).to.equal(1);
    expect(c[0]).to.be.closeTo(Math.SQRT1_2, 1e-7);
    expect(straightness(pts, 2)).to.be.closeTo(Math.SQRT1_2, 1e-7);
  });

  it('needs at least 3 points', () => {
    expect(() => straightness(Float32Array.of(0, 0, 1, 1), 2)).to.throw(
      /at least 3 points \(got 2\)/,
    );
  });
});
