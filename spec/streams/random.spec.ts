import { expect } from 'chai';
import { createRng } from '../../streams/random.js';
import { mulberry32 } from '../../streams/mulberry32.js';

describe('createRng', () => {
  it('draws mulberry32’s sequence for its seed', () => {
    const r = createRng(42);
    const m = mulberry32(42);
    for (let i = 0; i < 100; i++) expect(r.next()).to.equal(m());
  });

  it('restores a saved state, mid Gaussian pair too: the same draws follow', () => {
    const r = createRng(5);
    r.normals(7); // an odd count leaves the pair's second half unused
    const saved = JSON.parse(JSON.stringify(r.state())) as ReturnType<typeof r.state>;
    expect(saved.spare).to.be.a('number');
    const expected = [...r.normals(9), r.int(10), r.next()];
    const other = createRng(99);
    other.restore(saved);
    expect([...other.normals(9), other.int(10), other.next()]).to.deep.equal(expected);
  });

  it('refuses a state that is not one', () => {
    expect(() => createRng(1).restore({ counter: -1, spare: null })).to.throw(
      'rng state counter must be a uint32 (got -1)',
    );
  });
});
