import { expect } from 'chai';
import { digamma, knnMutualInformation, normalisedMI } from '../../../operators/metrics/knn-mi.js';
import { mulberry32 } from '../../../streams/mulberry32.js';

function normals(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()),
  );
}

describe('knnMutualInformation', () => {
  it('is ≈ 0 for independent variables', () => {
    const mi = knnMutualInformation(normals(800, 1), 2, normals(800, 2), 2, 4);
    expect(mi).to.be.below(0.05);
    expect(normalisedMI(mi)).to.be.below(0.1);
  });

  it('is high for identical variables', () => {
    const x = normals(600, 3);
    const mi = knnMutualInformation(x, 3, x, 3, 4);
    expect(mi).to.be.above(4); // ψ(N) − ψ(k) ≈ ln(600/4)
    expect(normalisedMI(mi)).to.be.above(0.99);
  });

  it('matches −½ ln(1 − ρ²) for correlated Gaussians', () => {
    const n = 1000;
    const a = normals(n, 4);
    const b = normals(n, 5);
    const rho = 0.8;
    const y = Float32Array.from(a, (v, i) => rho * v + Math.sqrt(1 - rho * rho) * b[i]);
    const truth = -0.5 * Math.log(1 - rho * rho); // 0.51 nats
    expect(knnMutualInformation(a, 1, y, 1, 4)).to.be.closeTo(truth, 0.06);
    expect(normalisedMI(truth)).to.be.closeTo(rho * rho, 1e-12);
  });

  it('rejects mismatched input', () => {
    expect(() => knnMutualInformation(new Float32Array(10), 2, new Float32Array(6), 2)).to.throw(
      /same number of points \(got 5 and 3\)/,
    );
    expect(() =>
      knnMutualInformation(new Float32Array(10), 2, new Float32Array(10), 2, 5),
    ).to.throw(/k must be an integer in \[1, N-1\] = \[1, 4\]/);
  });
});

describe('digamma', () => {
  it('matches known values', () => {
    expect(digamma(1)).to.be.closeTo(-0.5772156649, 1e-9);
    expect(digamma(0.5)).to.be.closeTo(-1.963510026, 1e-9);
    expect(digamma(10)).to.be.closeTo(2.2517525891, 1e-9);
  });
});
