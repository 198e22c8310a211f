import { expect } from 'chai';
import { niceTicks, panRange, zoomRange } from '../../dashboard/view-range.js';

describe('step range zoom and pan', () => {
  it('zooms in around the pointer and back out to everything', () => {
    const r = zoomRange(null, [0, 1000], 0.5, 0.5);
    expect(r).to.deep.equal([250, 750]);
    const left = zoomRange(null, [0, 1000], 0, 0.5);
    expect(left).to.deep.equal([0, 500]);
    expect(zoomRange(r, [0, 1000], 0.5, 4)).to.equal(null);
  });

  it('keeps a minimum width and stays inside the run', () => {
    const tiny = zoomRange([500, 510], [0, 1000], 0.5, 0.01);
    expect(tiny![1] - tiny![0]).to.equal(10);
    expect(panRange([0, 100], [0, 1000], -50)).to.deep.equal([0, 100]);
    expect(panRange([800, 900], [0, 1000], 500)).to.deep.equal([900, 1000]);
    expect(panRange(null, [0, 1000], 5)).to.equal(null);
  });

  it('puts ticks on round numbers', () => {
    expect(niceTicks(0, 100692, 6)).to.deep.equal([0, 20000, 40000, 60000, 80000, 100000]);
    expect(niceTicks(0, 600, 6)).to.deep.equal([0, 100, 200, 300, 400, 500, 600]);
    expect(niceTicks(250, 750, 5)).to.deep.equal([300, 400, 500, 600, 700]);
    expect(niceTicks(0, 1, 4)).to.deep.equal([0, 0.5, 1]);
    expect(niceTicks(5, 5, 6)).to.deep.equal([5]);
  });
});
