import { expect } from 'chai';
import fc from 'fast-check';
import { linearFit } from '../../../operators/metrics/linear-fit.js';
import { mulberry32 } from '../../../streams/mulberry32.js';

describe('linearFit', () => {
  it('recovers an exact linear map with R² = 1', () => {
    const r = mulberry32(1);
    const n = 200;
    const X = new Float32Array(n * 3);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 3; j++) X[i * 3 + j] = r() * 4 - 2;
      y[i] = 0.5 + 2 * X[i * 3] - 3 * X[i * 3 + 2];
    }
    const fit = linearFit(X, 3, y);
    expect(fit.r2).to.be.closeTo(1, 1e-9);
    expect(fit.weights[0]).to.be.closeTo(2, 1e-5);
    expect(fit.weights[1]).to.be.closeTo(0, 1e-5);
    expect(fit.weights[2]).to.be.closeTo(-3, 1e-5);
    expect(fit.intercept).to.be.closeTo(0.5, 1e-5);
  });

  it('scales weights by the column spread in `standardized`', () => {
    const X = Float32Array.of(0, 0, 1, 10, 2, 20, 3, 30).map((v, i) =>
      i % 2 ? v : v + (i % 4) * 0.1,
    );
    const y = Float32Array.of(0, 10, 20, 30);
    const fit = linearFit(X, 2, y);
    for (let j = 0; j < 2; j++) {
      let m = 0;
      for (let i = 0; i < 4; i++) m += X[i * 2 + j] / 4;
      let v = 0;
      for (let i = 0; i < 4; i++) v += (X[i * 2 + j] - m) ** 2 / 4;
      expect(fit.standardized[j]).to.be.closeTo(fit.weights[j] * Math.sqrt(v), 1e-6);
    }
  });

  it('gives R² near 0 for an unrelated target and 0 for a constant one', () => {
    const r = mulberry32(2);
    const n = 2000;
    const X = Float32Array.from({ length: n }, () => r());
    const y = Float32Array.from({ length: n }, () => r());
    expect(linearFit(X, 1, y).r2).to.be.below(0.01);
    expect(linearFit(X, 1, new Float32Array(n).fill(3)).r2).to.equal(0);
  });

  it('stays in [0, 1] for any data', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 4, maxLength: 40 }),
        (vals) => {
          const n = Math.floor(vals.length / 2);
          const fit = linearFit(
            Float32Array.from(vals.slice(0, n)),
            1,
            Float32Array.from(vals.slice(n, 2 * n)),
          );
          return fit.r2 >= 0 && fit.r2 <= 1;
        },
      ),
    );
  });

  it('names the bad argument', () => {
    expect(() => linearFit(new Float32Array(5), 2, new Float32Array(2))).to.throw(
      /X length must be a multiple of dim = 2/,
    );
    expect(() => linearFit(new Float32Array(4), 2, new Float32Array(3))).to.throw(
      /y must have one value per row of X = 2 \(got 3\)/,
    );
  });
});
