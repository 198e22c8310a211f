import { expect } from 'chai';
import {
  checkPhaseThresholds,
  classifyPhase,
  defaultPhaseThresholds,
} from '../../../operators/metrics/classify-phase.js';

describe('classifyPhase', () => {
  const good = { oneBump: 0.9, accuracyOneBump: 0.8, r2mean: 0.9, neighbourhood: 0.6 };

  it('gives A when fewer than half the images show one bump', () => {
    expect(classifyPhase({ ...good, oneBump: 0.4 })).to.equal('A');
  });

  it('gives C only when images are right AND the map is ordered', () => {
    expect(classifyPhase(good)).to.equal('C');
    expect(classifyPhase({ ...good, accuracyOneBump: 0.2 })).to.equal('B');
    expect(classifyPhase({ ...good, r2mean: 0.2 })).to.equal('B');
    expect(classifyPhase({ ...good, neighbourhood: 0.1 })).to.equal('B');
  });

  it('never gives C from R² alone', () => {
    expect(classifyPhase({ oneBump: 1, accuracyOneBump: 0, r2mean: 1, neighbourhood: 1 })).to.equal(
      'B',
    );
    expect(classifyPhase({ oneBump: 0, accuracyOneBump: 0, r2mean: 1, neighbourhood: 1 })).to.equal(
      'A',
    );
  });

  it('takes threshold overrides', () => {
    expect(classifyPhase(good, { minR2: 0.95 })).to.equal('B');
    expect(classifyPhase({ ...good, oneBump: 0.4 }, { minOneBump: 0.3 })).to.equal('C');
  });

  it('exports frozen defaults and validates overrides', () => {
    expect(defaultPhaseThresholds).to.deep.equal({
      minOneBump: 0.5,
      minAccuracyOneBump: 0.8,
      minR2: 0.3,
      minNeighbourhood: 0.25,
    });
    expect(Object.isFrozen(defaultPhaseThresholds)).to.equal(true);
    expect(() => checkPhaseThresholds({ minR2: 2 })).to.throw(
      /^thresholds\.minR2 must be a number in \[0, 1\] \(got 2\)$/,
    );
  });
});
