import { expect } from 'chai';
import { linearR2 } from '../../../operators/metrics/linear-r2.js';
import { mulberry32 } from '../../../streams/mulberry32.js';

describe('linearR2', () => {
  const rand = mulberry32(11);
  const n = 300;
  const X = Float32Array.from({ length: n * 3 }, () => rand() * 10 - 5);

  it('is 1 for an exact linear function with intercept', () => {
    const y = Float32Array.from({ length: n }, (_, i) => 2 * X[3 * i] - X[3 * i + 2] + 7);
    expect(linearR2(X, 3, y)).to.be.closeTo(1, 1e-6);
  });

  it('is about 0 for noise', () => {
    const y = Float32Array.from({ length: n }, () => rand());
    expect(linearR2(X, 3, y)).to.be.lessThan(0.05);
  });

  it('matches the squared correlation in one dimension', () => {
    const x = Float32Array.from({ length: n }, () => rand());
    const y = Float32Array.from(x, (v) => v + (rand() - 0.5));
    const mx = x.reduce((a, b) => a + b) / n;
    const my = y.reduce((a, b) => a + b) / n;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < n; i++) {
      sxy += (x[i] - mx) * (y[i] - my);
      sxx += (x[i] - mx) ** 2;
      syy += (y[i] - my) ** 2;
    }
    expect(linearR2(x, 1, y)).to.be.closeTo((sxy * sxy) / (sxx * syy), 1e-6);
  });

  it('survives duplicated (collinear) columns and constant targets', () => {
    const Xd = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) Xd[2 * i] = Xd[2 * i + 1] = X[3 * i];
    const y = Float32Array.from({ length: n }, (_, i) => X[3 * i] * 3);
    expect(linearR2(Xd, 2, y)).to.be.closeTo(1, 1e-6);
    expect(linearR2(Xd, 2, new Float32Array(n).fill(2))).to.equal(0);
  });

  it('rejects mismatched shapes', () => {
    expect(() => linearR2(new Float32Array(6), 3, new Float32Array(3))).to.throw(
      /^y must have one value per row/,
    );
    expect(() => linearR2(new Float32Array(5), 3, new Float32Array(1))).to.throw(
      /^X length must be a multiple/,
    );
  });
});
