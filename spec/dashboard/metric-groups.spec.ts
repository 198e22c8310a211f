import { expect } from 'chai';
import { groupByPrefix, matchesQuery, namePrefix } from '../../dashboard/metric-groups.js';

describe('dashboard metric groups', () => {
  it('groups names by the prefix before the first /, unprefixed names first', () => {
    expect(namePrefix('probe/acc/t10')).to.equal('probe');
    expect(namePrefix('lr')).to.equal('');
    expect(namePrefix('/odd')).to.equal('');
    expect(
      groupByPrefix(['probe/loss', 'lr', 'custom/border-fraction', 'probe/acc', 'lr']),
    ).to.deep.equal([
      { prefix: '', names: ['lr'] },
      { prefix: 'custom', names: ['custom/border-fraction'] },
      { prefix: 'probe', names: ['probe/acc', 'probe/loss'] },
    ]);
    expect(groupByPrefix([])).to.deep.equal([]);
  });

  it('filters by every term, ignoring case, with - to exclude', () => {
    expect(matchesQuery('custom/border-fraction', '')).to.equal(true);
    expect(matchesQuery('custom/border-fraction', 'BORDER')).to.equal(true);
    expect(matchesQuery('custom/border-fraction', 'custom frac')).to.equal(true);
    expect(matchesQuery('custom/border-fraction', 'custom loss')).to.equal(false);
    expect(matchesQuery('phase/r2x', 'phase -r2')).to.equal(false);
    expect(matchesQuery('phase/accuracy', 'phase -r2')).to.equal(true);
  });
});
