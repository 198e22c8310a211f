import { expect } from 'chai';
import { decimateMinMax } from '../../dashboard/decimate.js';

describe('decimateMinMax', () => {
  const series = (n: number, f: (i: number) => number) => ({
    xs: Array.from({ length: n }, (_, i) => i),
    ys: Array.from({ length: n }, (_, i) => f(i)),
  });

  it('keeps short series whole', () => {
    const { xs, ys } = series(10, (i) => i * i);
    expect(decimateMinMax(xs, ys, 100)).to.deep.equal(xs.map((x, i) => ({ x, y: ys[i] })));
  });

  it('thins 100k points to at most 4 per bucket, in x order, keeping ends and extremes', () => {
    const { xs, ys } = series(
      100_000,
      (i) => Math.sin(i / 500) + (i === 31_337 ? 50 : 0) - (i === 77_777 ? 40 : 0),
    );
    const out = decimateMinMax(xs, ys, 500);
    expect(out.length).to.be.at.most(2000).and.greaterThan(500);
    expect(out[0]).to.deep.equal({ x: 0, y: ys[0] });
    expect(out.at(-1)).to.deep.equal({ x: 99_999, y: ys[99_999] });
    expect(out.every((p, i) => i === 0 || p.x > out[i - 1].x)).to.equal(true);
    expect(out).to.deep.include({ x: 31_337, y: ys[31_337] });
    expect(out).to.deep.include({ x: 77_777, y: ys[77_777] });
    // Every bucket's min and max survive: the envelope is the same as the raw series'.
    for (let b = 0; b < 500; b++) {
      const lo = b * 200;
      const raw = ys.slice(lo, lo + 200);
      const kept = out.filter((p) => p.x >= lo && p.x < lo + 200).map((p) => p.y);
      expect(Math.max(...kept)).to.equal(Math.max(...raw));
      expect(Math.min(...kept)).to.equal(Math.min(...raw));
    }
  });

  it('restricts to the visible x range plus one neighbour each side', () => {
    const { xs, ys } = series(1000, (i) => i);
    const out = decimateMinMax(xs, ys, 100, 100.5, 200.5);
    expect(out[0].x).to.equal(100);
    expect(out.at(-1)!.x).to.equal(201);
  });

  it('skips non-finite values, keeps a flat bucket to its ends', () => {
    const out = decimateMinMax([0, 1, 2, 1000, 1001], [1, NaN, 3, Infinity, 5], 2);
    expect(out.map((p) => p.x)).to.deep.equal([0, 2, 1001]);
    const flat = decimateMinMax([0, 1, 2, 3, 4, 5], [1, 1, 1, 1, 1, 1], 1);
    expect(flat.map((p) => p.x)).to.deep.equal([0, 5]);
    expect(decimateMinMax([], [], 10)).to.deep.equal([]);
  });
});
