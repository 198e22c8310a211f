import { expect } from 'chai';
import { locateBump } from '../../../operators/metrics/locate-bump.js';
import { mulberry32 } from '../../../streams/mulberry32.js';
import { gaussianBumps } from '../../../streams/gaussian-bumps.js';

function noisy(img: Float32Array, sd: number, rand: () => number): Float32Array {
  for (let p = 0; p < img.length; p++) {
    const g = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    img[p] = Math.max(-1, Math.min(1, img[p] + sd * g));
  }
  return img;
}

describe('locateBump', () => {
  for (const sigma of [1, 1.5, 2]) {
    it(`is sub-pixel accurate (< 0.1 px) on rendered bumps with σ = ${sigma}`, () => {
      const size = 32;
      const d = gaussianBumps({ size, dx: 0.7, sigma });
      let worst = 0;
      for (let i = 0; i < d.count; i++) {
        const [x, y] = [d.labels[2 * i], d.labels[2 * i + 1]];
        const m = 3 * sigma;
        if (x < m || y < m || x > size - 1 - m || y > size - 1 - m) continue;
        const r = locateBump(d.image(i), size);
        expect(r.count).to.equal(1);
        worst = Math.max(worst, Math.abs(r.x - x), Math.abs(r.y - y));
      }
      expect(worst).to.be.lessThan(0.1);
    });
  }

  it('stays within 0.6 px of bumps clipped by the border (σ = 1)', () => {
    const d = gaussianBumps({ size: 16, dx: 0.5 });
    for (let i = 0; i < d.count; i++) {
      const r = locateBump(d.image(i), 16);
      expect(r.count).to.equal(1);
      expect(Math.abs(r.x - d.labels[2 * i])).to.be.lessThan(0.6);
      expect(Math.abs(r.y - d.labels[2 * i + 1])).to.be.lessThan(0.6);
    }
  });

  it('corrects the inward pull of bumps clipped by the border (σ = 2)', () => {
    const d = gaussianBumps({ size: 16, dx: 0.5, sigma: 2 });
    let fitted = 0;
    let plain = 0;
    for (let i = 0; i < d.count; i++) {
      const [x, y] = [d.labels[2 * i], d.labels[2 * i + 1]];
      const a = locateBump(d.image(i), 16);
      const b = locateBump(d.image(i), 16, { borderFit: false });
      fitted = Math.max(fitted, Math.abs(a.x - x), Math.abs(a.y - y));
      plain = Math.max(plain, Math.abs(b.x - x), Math.abs(b.y - y));
    }
    expect(fitted).to.be.lessThan(0.1);
    expect(plain).to.be.greaterThan(1);
  });

  it('counts 0 on a flat image and returns the canvas centre', () => {
    expect(locateBump(new Float32Array(64).fill(-1), 8)).to.deep.equal({
      x: 3.5,
      y: 3.5,
      count: 0,
    });
  });

  it('counts 0 on flat noise (Otsu alone would split it in two)', () => {
    const rand = mulberry32(7);
    for (const [base, sd] of [
      [-1, 0.1],
      [0, 0.2],
      [-0.5, 0.3],
    ]) {
      let zero = 0;
      for (let k = 0; k < 50; k++) {
        const r = locateBump(noisy(new Float32Array(256).fill(base), sd, rand), 16);
        if (r.count === 0) zero++;
      }
      expect(zero, `base ${base} sd ${sd}`).to.be.at.least(47);
    }
  });

  it('counts 2 for two bumps and falls back to the image centroid', () => {
    const d = gaussianBumps({ size: 16, dx: 1 });
    const a = d.image(3 * 16 + 3);
    const b = d.image(12 * 16 + 11);
    const img = a.map((v, p) => Math.max(v, b[p]));
    const r = locateBump(img, 16);
    expect(r.count).to.equal(2);
    expect(r.x).to.be.closeTo(7, 0.05);
    expect(r.y).to.be.closeTo(7.5, 0.05);
  });

  it('counts 1 with a little noise, and ignores one-pixel salt specks', () => {
    const d = gaussianBumps({ size: 16, dx: 1 });
    const rand = mulberry32(3);
    let ones = 0;
    let within = 0;
    for (let k = 0; k < 200; k++) {
      const i = Math.floor(rand() * d.count);
      const img = noisy(d.image(i), 0.1, rand);
      for (let p = 0; p < img.length; p++) if (rand() < 0.02) img[p] = Math.min(1, img[p] + 1.2);
      const r = locateBump(img, 16);
      if (r.count !== 1) continue;
      ones++;
      const err = Math.max(Math.abs(r.x - d.labels[2 * i]), Math.abs(r.y - d.labels[2 * i + 1]));
      if (err <= 1) within++;
    }
    expect(ones).to.be.at.least(194);
    // A salt pixel next to the bump can still pull the centroid: about 1% of images.
    expect(within / ones).to.be.at.least(0.97);
  });

  it('rejects a size that does not match the image', () => {
    expect(() => locateBump(new Float32Array(10), 3)).to.throw(/^image must hold size\*size = 9/);
    expect(() => locateBump(new Float32Array(0), 0)).to.throw(/^size must be a positive integer/);
  });
});
