import { expect } from 'chai';
import { mulberry32 } from '../../../streams/mulberry32.js';
import { neighbourhoodPreservation } from '../../../operators/metrics/neighbourhood-preservation.js';

describe('neighbourhoodPreservation', () => {
  const rand = mulberry32(4);
  const n = 200;
  const labels = Float32Array.from({ length: n * 2 }, () => rand() * 15);

  it('is 1 for a space compared with itself or a rotation of it', () => {
    const c = Math.cos(0.7);
    const s = Math.sin(0.7);
    const rot = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      rot[2 * i] = c * labels[2 * i] - s * labels[2 * i + 1];
      rot[2 * i + 1] = s * labels[2 * i] + c * labels[2 * i + 1];
    }
    expect(neighbourhoodPreservation(labels, 2, labels, 2)).to.equal(1);
    expect(neighbourhoodPreservation(labels, 2, rot, 2)).to.be.greaterThan(0.97);
  });

  it('is high for a smooth nonlinear embedding in 32-D', () => {
    const dim = 32;
    const f = Array.from({ length: dim }, () => [
      rand() * 0.4 - 0.2,
      rand() * 0.4 - 0.2,
      rand() * 6,
    ]);
    const act = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < dim; j++) {
        act[i * dim + j] = Math.sin(
          f[j][0] * labels[2 * i] + f[j][1] * labels[2 * i + 1] + f[j][2],
        );
      }
    }
    expect(neighbourhoodPreservation(labels, 2, act, dim, 10)).to.be.greaterThan(0.6);
  });

  it('is near k/(N-1) for unrelated spaces', () => {
    const other = Float32Array.from({ length: n * 8 }, () => rand());
    const v = neighbourhoodPreservation(labels, 2, other, 8, 10);
    expect(v).to.be.closeTo(10 / (n - 1), 0.04);
  });

  it('rejects mismatched row counts', () => {
    expect(() => neighbourhoodPreservation(labels, 2, new Float32Array(10), 2)).to.throw(
      /^b must have as many rows as a = 200 \(got 5\)$/,
    );
  });
});
