import { expect } from 'chai';
import { colourScale } from '../../dashboard/colour-scale.js';
import { colormap } from '../../dashboard/projection.js';
import { categoryColor } from '../../dashboard/theme.js';

describe('dashboard colour scale', () => {
  it('gives few distinct integers (class labels) one colour each', () => {
    const s = colourScale([2, 0, 1, 2, 0]);
    expect(s.kind).to.equal('categorical');
    expect(s.categories).to.deep.equal([0, 1, 2]);
    expect([s.colour(0), s.colour(1), s.colour(2)]).to.deep.equal([0, 1, 2].map(categoryColor));
  });

  it('stretches other values over the continuous scale from min to max', () => {
    const s = colourScale([1.5, 3, 4.5, NaN]);
    expect(s.kind).to.equal('continuous');
    expect([s.min, s.max]).to.deep.equal([1.5, 4.5]);
    expect(s.colour(1.5)).to.equal(colormap(0));
    expect(s.colour(3)).to.equal(colormap(0.5));
    expect(s.colour(4.5)).to.equal(colormap(1));
    expect(colourScale([0, 1, 2], 0).kind).to.equal('continuous');
    expect(colourScale(Array.from({ length: 20 }, (_, i) => i)).kind).to.equal('continuous');
    // Positions are ordered numbers however few there are (bump x at dx 2): not categories.
    const positions = colourScale([2, 4, 6, 4]);
    expect(positions.kind).to.equal('continuous');
    expect(positions.colour(4)).to.equal(colormap(0.5));
  });
});
