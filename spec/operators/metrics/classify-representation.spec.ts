import { expect } from 'chai';
import {
  checkRepresentationThresholds,
  classifyRepresentation,
  defaultRepresentationThresholds,
} from '../../../operators/metrics/classify-representation.js';

describe('classifyRepresentation', () => {
  const ordered = { dimRatio: 1, structure: 0.6, ordering: 0.9, samplesOk: NaN };

  it('is C for an ordered manifold, B when a factor is not read out or neighbours are lost', () => {
    expect(classifyRepresentation(ordered)).to.equal('C');
    expect(classifyRepresentation({ ...ordered, ordering: 0.3 })).to.equal('B');
    expect(classifyRepresentation({ ...ordered, structure: 0.15 })).to.equal('B');
  });

  it('is A only when the dimension is far above the factors\u2019 and neighbourhoods are at chance', () => {
    expect(
      classifyRepresentation({ ...ordered, dimRatio: 8, structure: 0.02, ordering: 0 }),
    ).to.equal('A');
    expect(
      classifyRepresentation({ ...ordered, dimRatio: 8, structure: 0.15, ordering: 0 }),
    ).to.equal('B');
    expect(classifyRepresentation({ ...ordered, dimRatio: 2, structure: 0, ordering: 0 })).to.equal(
      'B',
    );
  });

  it('reads sample verdicts when sent', () => {
    expect(
      classifyRepresentation({ ...ordered, samplesOk: 0.3 }),
      'ordered, samples wrong',
    ).to.equal('B');
    expect(classifyRepresentation({ ...ordered, structure: 0.1, samplesOk: 0.3 })).to.equal('A');
    expect(classifyRepresentation({ ...ordered, samplesOk: 0.7 })).to.equal('B');
    expect(classifyRepresentation({ ...ordered, samplesOk: 0.9 })).to.equal('C');
    expect(classifyRepresentation({ ...ordered, samplesOk: 0.7 }, { minSamplesOkC: 0.6 })).to.equal(
      'C',
    );
  });

  it('checks thresholds with one line naming the field', () => {
    expect(checkRepresentationThresholds()).to.deep.equal(defaultRepresentationThresholds);
    expect(() => checkRepresentationThresholds({ maxDimRatio: 0.5 })).to.throw(
      'representation.maxDimRatio must be a finite number >= 1 (got 0.5)',
    );
    expect(() => checkRepresentationThresholds({ minOrdering: 2 })).to.throw(
      'representation.minOrdering must be a number in [0, 1] (got 2)',
    );
  });
});
