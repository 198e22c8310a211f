import { expect } from 'chai';
import { mulberry32 } from '../../streams/mulberry32.js';

describe('mulberry32', () => {
  it('repeats a sequence for a seed and differs across seeds, within [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 100 }, () => a());
    expect(xs).to.deep.equal(Array.from({ length: 100 }, () => b()));
    expect(xs).not.to.deep.equal(Array.from({ length: 100 }, () => c()));
    for (const x of xs) expect(x).to.be.at.least(0).and.lessThan(1);
  });
});
