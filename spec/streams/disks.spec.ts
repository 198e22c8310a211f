import { expect } from 'chai';
import { linearFit } from '../../operators/metrics/linear-fit.js';
import { checkDisksOptions, diskTrajectories, disks } from '../../streams/disks.js';

/** All images of a dataset, row-major. */
function allImages(d: ReturnType<typeof disks>): Float32Array {
  const px = d.size * d.size;
  const out = new Float32Array(d.count * px);
  for (let i = 0; i < d.count; i++) out.set(d.image(i), i * px);
  return out;
}

describe('disks', () => {
  it('draws three independent uniform latents and exposes them as labels and fields', () => {
    const d = disks({ size: 16, count: 3000, seed: 2 });
    expect(d.count).to.equal(3000);
    expect(d.labelDim).to.equal(3);
    expect(d.labels.length).to.equal(9000);
    const r = d.radius;
    for (let i = 0; i < d.count; i++) {
      expect(d.labels[3 * i]).to.equal(d.fields.cx[i]);
      expect(d.labels[3 * i + 1]).to.equal(d.fields.cy[i]);
      expect(d.labels[3 * i + 2]).to.equal(d.fields.background[i]);
    }
    const within = (a: Float32Array, lo: number, hi: number): boolean =>
      a.every((v) => v >= lo && v <= hi);
    expect(within(d.fields.cx, r, 15 - r)).to.equal(true);
    expect(within(d.fields.cy, r, 15 - r)).to.equal(true);
    expect(within(d.fields.background, -1, 1)).to.equal(true);
    const mean = (a: Float32Array): number => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(d.fields.background)).to.be.closeTo(0, 0.05);
    expect(mean(d.fields.cx)).to.be.closeTo(7.5, 0.15);
    // Independent: near-zero correlation between the factors.
    const corr = (a: Float32Array, b: Float32Array): number => {
      const ma = mean(a);
      const mb = mean(b);
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let i = 0; i < a.length; i++) {
        ab += (a[i] - ma) * (b[i] - mb);
        aa += (a[i] - ma) ** 2;
        bb += (b[i] - mb) ** 2;
      }
      return ab / Math.sqrt(aa * bb);
    };
    expect(Math.abs(corr(d.fields.cx, d.fields.cy))).to.be.below(0.06);
    expect(Math.abs(corr(d.fields.cx, d.fields.background))).to.be.below(0.06);
  });

  it('renders a 0.5 disk of the given radius on the background, values in [-1, 1]', () => {
    const d = disks({ size: 16, count: 50, seed: 1 });
    for (let i = 0; i < d.count; i++) {
      const img = d.image(i);
      const b = d.fields.background[i];
      expect(img.every((v) => v >= -1 && v <= 1)).to.equal(true);
      // Pixel centre nearest the disk centre is wholly inside; the corner wholly outside.
      const c = Math.round(d.fields.cx[i]);
      const r = Math.round(d.fields.cy[i]);
      expect(img[r * 16 + c]).to.be.closeTo(0.5, 1e-6);
      expect(img[0]).to.equal(b);
      // Coverage sums to about the disk's area.
      let area = 0;
      for (const v of img) area += (v - b) / (0.5 - b);
      if (Math.abs(0.5 - b) > 0.05) expect(area).to.be.closeTo(Math.PI * d.radius ** 2, 0.6);
    }
    const moved = d.render(5, 5, 0);
    expect(moved[5 * 16 + 5]).to.equal(0.5);
    expect(moved[12 * 16 + 12]).to.equal(0);
  });

  it('is deterministic per seed', () => {
    const a = disks({ size: 8, count: 5, seed: 4 });
    const b = disks({ size: 8, count: 5, seed: 4 });
    const c = disks({ size: 8, count: 5, seed: 5 });
    expect(Array.from(a.image(3))).to.deep.equal(Array.from(b.image(3)));
    expect(Array.from(a.labels)).to.not.deep.equal(Array.from(c.labels));
  });

  it('lets a linear probe on the clean pixels recover the background exactly', () => {
    const d = disks({ size: 8, count: 400, seed: 3, radius: 1.5 });
    const fit = linearFit(allImages(d), 64, d.fields.background);
    expect(fit.r2).to.be.greaterThan(0.999999);
  });

  it('lets a linear probe recover cx and cy exactly from the disk mask’s moments, not from pixels', () => {
    // The image is b + (0.5 − b)·coverage(cx, cy): position enters multiplied by the contrast,
    // whose sign flips at b = 0.5, so no linear map of the pixels reads it out. Dividing the
    // contrast out (b is the corner pixel) gives the coverage, whose centroid is linear in cx, cy.
    const d = disks({ size: 16, count: 1000, seed: 6 });
    const px = 256;
    const images = allImages(d);
    const feats = new Float32Array(d.count * 2);
    const kept: number[] = [];
    for (let i = 0; i < d.count; i++) {
      const b = images[i * px];
      if (Math.abs(0.5 - b) < 0.1) continue; // the seed's singular point: the disk is invisible
      let m0 = 0;
      let mx = 0;
      let my = 0;
      for (let p = 0; p < px; p++) {
        const cov = (images[i * px + p] - b) / (0.5 - b);
        m0 += cov;
        mx += cov * (p % 16);
        my += cov * Math.floor(p / 16);
      }
      feats.set([mx / m0, my / m0], kept.length * 2);
      kept.push(i);
    }
    const X = feats.subarray(0, kept.length * 2);
    const cx = Float32Array.from(kept, (i) => d.fields.cx[i]);
    const cy = Float32Array.from(kept, (i) => d.fields.cy[i]);
    expect(linearFit(X, 2, cx).r2).to.be.greaterThan(0.9999);
    expect(linearFit(X, 2, cy).r2).to.be.greaterThan(0.9999);
    const pixelsOnly = linearFit(images, px, d.fields.cx).r2;
    expect(pixelsOnly).to.be.below(0.9);
  });

  it('rejects bad options naming the field', () => {
    expect(() => checkDisksOptions({ size: 7 })).to.throw(
      /^disks size must be an integer in \[8, 256\] \(got 7\)$/,
    );
    expect(() => disks({ count: 0 })).to.throw(/disks count/);
    expect(() => disks({ size: 16, radius: 8 })).to.throw(
      /disks radius must be a number in \(0, 8\) \(got 8\)/,
    );
    expect(() => disks({ foreground: 2 })).to.throw(/disks foreground/);
    expect(() => disks({ seed: 0.5 })).to.throw(/disks seed/);
    expect(() => disks({ size: 8, count: 3 }).image(3)).to.throw(
      /image index must be an integer in \[0, 2\] \(got 3\)/,
    );
  });

  it('makes trajectories of a disk moving along a line on a fixed background', () => {
    const d = disks({ size: 16, count: 1 });
    const ts = diskTrajectories(d, { count: 3, frames: 6, seed: 2 });
    expect(ts.length).to.equal(3);
    for (const t of ts) {
      expect(t.length).to.equal(6 * 256);
      const b = t[0];
      expect(Math.abs(b - 0.5)).to.be.at.least(0.4);
      // Same background in every frame; the disk's centroid moves by equal steps.
      const centroids: number[] = [];
      for (let f = 0; f < 6; f++) {
        expect(t[f * 256]).to.equal(b);
        let m0 = 0;
        let mx = 0;
        for (let p = 0; p < 256; p++) {
          const cov = (t[f * 256 + p] - b) / (0.5 - b);
          m0 += cov;
          mx += cov * (p % 16);
        }
        centroids.push(mx / m0);
      }
      const steps = centroids.slice(1).map((c, i) => c - centroids[i]);
      for (const s of steps) expect(s).to.be.closeTo(steps[0], 0.15);
    }
    expect(() => diskTrajectories(d, { frames: 2 })).to.throw(
      /frames must be an integer in \[3, 1000\] \(got 2\)/,
    );
  });
});
