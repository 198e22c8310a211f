import { expect } from 'chai';
import { checkGaussianBumpsOptions, gaussianBumps } from '../../streams/gaussian-bumps.js';

describe('gaussianBumps', () => {
  it('tiles centres 0, dx, 2dx, … <= size-1 (size 16, dx 0.5 → 31×31)', () => {
    const d = gaussianBumps({ size: 16, dx: 0.5 });
    expect(d.size).to.equal(16);
    expect(d.count).to.equal(961);
    expect(d.labels.length).to.equal(961 * 2);
    expect([d.labels[0], d.labels[1]]).to.deep.equal([0, 0]);
    expect([d.labels[2], d.labels[3]]).to.deep.equal([0.5, 0]);
    expect([d.labels[1920], d.labels[1921]]).to.deep.equal([15, 15]);
  });

  it('keeps centres margin px from the edge (size 16, dx 0.5, margin 2 → 23×23, 2 … 13)', () => {
    const d = gaussianBumps({ size: 16, dx: 0.5, margin: 2 });
    expect(d.count).to.equal(529);
    expect([d.labels[0], d.labels[1]]).to.deep.equal([2, 2]);
    expect([d.labels[2], d.labels[3]]).to.deep.equal([2.5, 2]);
    expect([d.labels[2 * 528], d.labels[2 * 528 + 1]]).to.deep.equal([13, 13]);
    expect(() => gaussianBumps({ size: 16, dx: 1, margin: 8 })).to.throw(
      /^margin must be a number >= 0 and <= 7\.5 \(got 8\)$/,
    );
  });

  it('defaults to size 32, dy = dx and keeps 0.1 steps up to size-1 despite rounding', () => {
    expect(gaussianBumps({ dx: 1 }).count).to.equal(32 * 32);
    const d = gaussianBumps({ size: 8, dx: 0.1, dy: 7 });
    expect(d.count).to.equal(71 * 2);
    expect(d.labels[2 * 70]).to.be.closeTo(7, 1e-5);
  });

  it('renders a bump scaled to [-1, 1]: peak +1 at the centre, background -1', () => {
    const d = gaussianBumps({ size: 16, dx: 1 });
    const i = 5 * 16 + 9; // x = 9, y = 5
    const img = d.image(i);
    expect(img.length).to.equal(256);
    expect(img[5 * 16 + 9]).to.be.closeTo(1, 1e-6);
    expect(img[5 * 16 + 10]).to.be.closeTo(2 * Math.exp(-0.5) - 1, 1e-6);
    expect(img[15 * 16 + 0]).to.be.closeTo(-1, 1e-6);
    for (const v of img) expect(v).to.be.within(-1, 1);
  });

  it('uses sigma for the spread', () => {
    const img = gaussianBumps({ size: 8, dx: 1, sigma: 2 }).image(0);
    expect(img[2]).to.be.closeTo(2 * Math.exp(-4 / 8) - 1, 1e-6);
  });

  it('leaves out centres inside the hole (inclusive)', () => {
    const d = gaussianBumps({ size: 8, dx: 1, hole: { x0: 2, y0: 2, x1: 4, y1: 3 } });
    expect(d.count).to.equal(64 - 6);
    for (let i = 0; i < d.count; i++) {
      const [x, y] = [d.labels[2 * i], d.labels[2 * i + 1]];
      expect(x >= 2 && x <= 4 && y >= 2 && y <= 3).to.equal(false);
    }
  });

  it('rejects bad options with a one-line message naming the field and range', () => {
    const cases: [Parameters<typeof gaussianBumps>[0], RegExp][] = [
      [{ size: 16, dx: -1 }, /^dx must be a number > 0 and <= 16 \(got -1\)$/],
      [{ size: 16, dx: 17 }, /^dx must be/],
      [{ dx: 1, dy: 0 }, /^dy must be a number > 0 and <= 32 \(got 0\)$/],
      [{ dx: 1, size: 3 }, /^size must be an integer >= 4 \(got 3\)$/],
      [{ dx: 1, size: 10.5 }, /^size must be an integer/],
      [{ dx: 1, sigma: 0 }, /^sigma must be a number > 0 \(got 0\)$/],
      [{ dx: Number.NaN }, /^dx must be/],
      [{ dx: 1, hole: { x0: 3, y0: 0, x1: 1, y1: 2 } }, /^hole must have x0 <= x1/],
    ];
    for (const [opts, re] of cases) {
      expect(() => gaussianBumps(opts)).to.throw(Error, re);
      try {
        checkGaussianBumpsOptions(opts);
      } catch (e) {
        expect((e as Error).message).not.to.contain('\n');
      }
    }
  });

  it('rejects an image index out of range', () => {
    expect(() => gaussianBumps({ size: 4, dx: 4 }).image(1)).to.throw(/^image index must be/);
  });
});
