import { expect } from 'chai';
import { accuracy } from '../../../operators/metrics/linear-probe.js';
import { averageLogits, ensembleMembers } from '../../../operators/metrics/soft-vote.js';

describe('averageLogits', () => {
  it('of identical probes equals one probe', () => {
    const l = new Float32Array([0.3, -1, 2, 0.5, 0.4, -0.2]);
    expect([...averageLogits([l, l, l, l, l])]).to.deep.equal([...l]);
    expect(accuracy(averageLogits([l, l]), [2, 0])).to.equal(accuracy(l, [2, 0]));
  });

  it('averages element-wise and can beat every member', () => {
    // Each probe is wrong on a different example; the vote is right on both.
    const a = new Float32Array([1, 0, 0, 3]); // example 0 right, 1 wrong (labels 0, 0)
    const b = new Float32Array([0, 1.1, 3, 0]);
    expect([...averageLogits([a, b])]).to.deep.equal([0.5, 0.550000011920929, 1.5, 1.5]);
    const c = new Float32Array([2, 0, 0, 1]);
    const d = new Float32Array([0, 1, 2, 0]);
    expect(accuracy(c, [0, 0])).to.equal(0.5);
    expect(accuracy(d, [0, 0])).to.equal(0.5);
    expect(accuracy(averageLogits([c, d]), [0, 0])).to.equal(1);
  });

  it('rejects mismatched or missing logits', () => {
    expect(() => averageLogits([])).to.throw(/at least one/);
    expect(() => averageLogits([new Float32Array(2), new Float32Array(3)])).to.throw(
      /logits\[1\] holds 3 values/,
    );
  });
});

describe('ensembleMembers', () => {
  it('takes fine (smaller t) and coarse (larger t) neighbours, clipped at the ends', () => {
    expect(ensembleMembers(7, 3, 2, 2)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(ensembleMembers(7, 0, 2, 2)).to.deep.equal([0, 1, 2]);
    expect(ensembleMembers(7, 6, 2, 2)).to.deep.equal([4, 5, 6]);
    expect(ensembleMembers(7, 3, 0, 0)).to.deep.equal([3]);
    expect(() => ensembleMembers(7, 7, 2, 2)).to.throw(/centre must be an index in \[0, 6\]/);
    expect(() => ensembleMembers(7, 1, -1, 2)).to.throw(/coarse must be a non-negative integer/);
  });
});
