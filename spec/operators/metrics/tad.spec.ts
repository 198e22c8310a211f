import { expect } from 'chai';
import { createRng } from '../../../streams/random.js';
import { auroc, binarizeAtMedian, tad } from '../../../operators/metrics/tad.js';

/** n examples of d independent uniform factors, row-major. */
function factors(n: number, d: number, seed: number): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n * d }, () => rng.next());
}

function column(x: ArrayLike<number>, d: number, j: number): Float64Array {
  return Float64Array.from({ length: x.length / d }, (_, i) => x[i * d + j]);
}

describe('auroc', () => {
  it('is 1 for a perfectly separating score, 0 for a reversed one, ½ for a constant', () => {
    const labels = [0, 0, 0, 1, 1];
    expect(auroc([0.1, 0.2, 0.3, 0.7, 0.9], labels)).to.equal(1);
    expect(auroc([0.9, 0.8, 0.7, 0.2, 0.1], labels)).to.equal(0);
    expect(auroc([1, 1, 1, 1, 1], labels)).to.equal(0.5);
  });

  it('counts ties half and matches the pairwise definition', () => {
    // Positives 0.35, 0.8; negatives 0.1, 0.4 → pairs won: (0.35>0.1), (0.8>0.1), (0.8>0.4) = 3/4.
    expect(auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).to.equal(0.75);
    const rng = createRng(4);
    const s = Array.from({ length: 60 }, () => Math.round(rng.next() * 5));
    const y = Array.from({ length: 60 }, (_, i) => i % 2);
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < 60; i++) {
      for (let j = 0; j < 60; j++) {
        if (y[i] !== 1 || y[j] !== 0) continue;
        pairs++;
        wins += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
    }
    expect(auroc(s, y)).to.be.closeTo(wins / pairs, 1e-12);
  });

  it('is about ½ for a score unrelated to the labels', () => {
    const rng = createRng(1);
    const n = 4000;
    const s = Float64Array.from({ length: n }, () => rng.normal());
    const y = Uint8Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
    expect(auroc(s, y)).to.be.closeTo(0.5, 0.03);
  });

  it('rejects one-class labels, non-binary labels and mismatched lengths', () => {
    expect(() => auroc([1, 2], [1, 1])).to.throw(/both classes.*2 positives and 0 negatives/);
    expect(() => auroc([1, 2], [0, 2])).to.throw(/labels must be 0 or 1 \(got 2 at 1\)/);
    expect(() => auroc([1, 2, 3], [0, 1])).to.throw(/one value per score/);
    expect(() => auroc([1, Number.NaN], [0, 1])).to.throw(/finite \(got NaN at 1\)/);
  });
});

describe('binarizeAtMedian', () => {
  it('splits distinct values into halves at the median', () => {
    expect(Array.from(binarizeAtMedian([3, 1, 2, 4]))).to.deep.equal([1, 0, 0, 1]);
    expect(Array.from(binarizeAtMedian([5, 1, 3]))).to.deep.equal([1, 0, 0]);
    expect(() => binarizeAtMedian([])).to.throw(/must not be empty/);
  });
});

describe('tad', () => {
  const n = 2000;
  const d = 3;
  const x = factors(n, d, 7);
  const attrs = [0, 1, 2].map((j) => binarizeAtMedian(column(x, d, j)));

  it('scores a perfectly disentangled code ½ per attribute, all captured', () => {
    const r = tad(x, d, attrs);
    expect(r.captured).to.equal(3);
    r.attributes.forEach((a, j) => {
      expect(a.bestAxis).to.equal(j);
      expect(a.best).to.equal(1);
      expect(a.second).to.be.within(0.5, 0.55);
      expect(a.sharedInformation).to.be.below(0.01);
    });
    expect(r.score).to.be.within(1.35, 1.5);
    expect(r.aurocs.length).to.equal(9);
  });

  it('scores a code rotated by 45° in the (x, y) plane lower', () => {
    const c = Math.SQRT1_2;
    const rot = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const [a, b, z] = [x[i * 3] - 0.5, x[i * 3 + 1] - 0.5, x[i * 3 + 2]];
      rot[i * 3] = c * a - c * b;
      rot[i * 3 + 1] = c * a + c * b;
      rot[i * 3 + 2] = z;
    }
    const aligned = tad(x, d, attrs).score;
    const r = tad(rot, d, attrs);
    expect(r.score).to.be.below(aligned - 0.8);
    // The untouched third factor still counts fully.
    expect(r.attributes[2].counted).to.equal(true);
    expect(r.attributes[2].difference).to.be.above(0.45);
    expect(r.attributes[0].difference).to.be.below(0.05);
  });

  it('does not count attributes below the AUROC threshold or explained by another attribute', () => {
    const rng = createRng(3);
    const noise = Float64Array.from({ length: n * d }, () => rng.normal());
    expect(tad(noise, d, attrs).captured).to.equal(0);
    // A duplicated attribute shares all its entropy with its twin: neither counts.
    const r = tad(x, d, [attrs[0], attrs[0], attrs[1]]);
    expect(r.attributes[0].sharedInformation).to.be.closeTo(1, 1e-9);
    expect(r.attributes.map((a) => a.counted)).to.deep.equal([false, false, true]);
  });

  it('credits an axis to one attribute only when exclusive', () => {
    // Two attributes read by axis 0 (one strongly, one weakly), the others pure noise.
    const rng = createRng(5);
    const codes = new Float64Array(n * 2);
    const a = new Uint8Array(n);
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = rng.next() < 0.5 ? 1 : 0;
      b[i] = rng.next() < 0.5 ? 1 : 0;
      codes[i * 2] = 3 * a[i] + 1.2 * b[i] + 0.3 * rng.normal();
      codes[i * 2 + 1] = rng.normal();
    }
    // b's best AUROC (about .7) needs a lower threshold to count.
    const shared = tad(codes, 2, [a, b], { threshold: 0.6 });
    expect(shared.attributes.map((r) => r.bestAxis)).to.deep.equal([0, 0]);
    expect(shared.captured).to.equal(2);
    const exclusive = tad(codes, 2, [a, b], { threshold: 0.6, exclusive: true });
    expect(exclusive.captured).to.equal(1);
    expect(exclusive.attributes[0].counted).to.equal(true);
    expect(exclusive.score).to.be.closeTo(shared.attributes[0].difference, 1e-12);
  });

  it('rejects bad input naming the field', () => {
    expect(() => tad([1, 2, 3], 2, [[0, 1]])).to.throw(/codes must hold N\*2 values \(got 3\)/);
    expect(() => tad([1, 2], 1, [[0, 1, 1]])).to.throw(/attribute 0 must hold 2 values/);
    expect(() => tad([1, 2], 1, [[0, 1]], { threshold: 2 })).to.throw(/threshold.*got 2/);
    expect(() => tad([1, 2], 0, [[0, 1]])).to.throw(/dim must be a positive integer/);
  });
});
