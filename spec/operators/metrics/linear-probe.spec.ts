import { expect } from 'chai';
import {
  accuracy,
  corruptLabels,
  fitLinearProbe,
  gatherRows,
  probeLogits,
  splitTrainTest,
} from '../../../operators/metrics/linear-probe.js';
import { mulberry32 } from '../../../streams/mulberry32.js';

function gaussianRows(n: number, dim: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  }
  return out;
}

describe('fitLinearProbe', () => {
  it('reaches 100 % on perfectly separable classes (train and held-out)', () => {
    const dim = 10;
    const K = 3;
    const n = 600;
    const x = gaussianRows(n, dim, 1);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % K;
      x[i * dim + y[i]] += 8; // a wide margin along the class's own axis
    }
    const { train, test } = splitTrainTest(n, 0.3, 2);
    const probe = fitLinearProbe(
      gatherRows(x, dim, train),
      Int32Array.from(train, (i) => y[i]),
      dim,
    );
    expect(
      accuracy(
        probeLogits(probe, gatherRows(x, dim, test)),
        Int32Array.from(test, (i) => y[i]),
      ),
    ).to.equal(1);
    expect(
      accuracy(
        probeLogits(probe, gatherRows(x, dim, train)),
        Int32Array.from(train, (i) => y[i]),
      ),
    ).to.equal(1);
  });

  it('is at chance on random labels (held out)', () => {
    const dim = 8;
    const K = 4;
    const n = 2000;
    const x = gaussianRows(n, dim, 3);
    const r = mulberry32(4);
    const y = Int32Array.from({ length: n }, () => Math.floor(r() * K));
    const { train, test } = splitTrainTest(n, 0.5, 5);
    const probe = fitLinearProbe(
      gatherRows(x, dim, train),
      Int32Array.from(train, (i) => y[i]),
      dim,
    );
    const acc = accuracy(
      probeLogits(probe, gatherRows(x, dim, test)),
      Int32Array.from(test, (i) => y[i]),
    );
    expect(acc).to.be.within(0.25 - 0.05, 0.25 + 0.05);
  });

  it('separates two Gaussian blobs about as well as the Bayes rule', () => {
    // Means ±1 on one axis, unit variance: Bayes accuracy Φ(1) ≈ 0.841.
    const dim = 5;
    const n = 4000;
    const x = gaussianRows(n, dim, 6);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 2;
      x[i * dim] += y[i] ? 1 : -1;
    }
    const { train, test } = splitTrainTest(n, 0.5, 7);
    const probe = fitLinearProbe(
      gatherRows(x, dim, train),
      Int32Array.from(train, (i) => y[i]),
      dim,
    );
    const acc = accuracy(
      probeLogits(probe, gatherRows(x, dim, test)),
      Int32Array.from(test, (i) => y[i]),
    );
    expect(acc).to.be.within(0.81, 0.87);
  });

  it('ignores constant features and rejects bad input with one-line errors', () => {
    const x = new Float32Array([0, 5, 1, 5, 2, 5, 3, 5]);
    const probe = fitLinearProbe(x, [0, 0, 1, 1], 2);
    expect(probe.scale[1]).to.equal(0);
    expect(accuracy(probeLogits(probe, x), [0, 0, 1, 1])).to.equal(1);
    expect(() => fitLinearProbe(x, [0, 1], 2)).to.throw(
      /labels must hold one label per row of x, 4 \(got 2\)/,
    );
    expect(() => fitLinearProbe(x, [0, 1, 0.5, 1], 2)).to.throw(
      /non-negative integers \(got 0.5 at 2\)/,
    );
    expect(() => fitLinearProbe(x.subarray(0, 7), [0], 2)).to.throw(/n\*dim values for dim = 2/);
    expect(() => fitLinearProbe(x, [0, 0, 1, 1], 2, { iterations: 0 })).to.throw(/iterations/);
  });
});

describe('splitTrainTest / corruptLabels', () => {
  it('splits into disjoint covering sets, reproducibly', () => {
    const a = splitTrainTest(100, 0.3, 9);
    expect(a.test.length).to.equal(30);
    expect(new Set([...a.train, ...a.test]).size).to.equal(100);
    expect([...splitTrainTest(100, 0.3, 9).test]).to.deep.equal([...a.test]);
    expect(() => splitTrainTest(100, 1, 9)).to.throw(/testFraction must be in \(0, 1\)/);
  });

  it('replaces about the given fraction by uniform classes', () => {
    const y = new Int32Array(10000);
    const noisy = corruptLabels(y, 0.8, 4, 1);
    let changed = 0;
    for (const v of noisy) if (v !== 0) changed++;
    // 80 % redrawn, 3/4 of those land on another class: 60 % changed.
    expect(changed / y.length).to.be.within(0.57, 0.63);
    expect([...corruptLabels(y, 0, 4, 1)].every((v) => v === 0)).to.equal(true);
    expect(() => corruptLabels(y, 1.5, 4, 1)).to.throw(
      /labelNoise must be a fraction in \[0, 1\] \(got 1.5\)/,
    );
  });
});
