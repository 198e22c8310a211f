import { expect } from 'chai';
import { noiseLevelProbes } from '../../../operators/metrics/noise-level-probes.js';
import { NOISE_TIMESTEPS, noisySnapshot } from '../synthetic-representation.js';

const TS = NOISE_TIMESTEPS;

describe('noiseLevelProbes', () => {
  it('finds where each factor is most readable across timesteps, with the soft-vote ensemble', () => {
    const [cls, x] = noiseLevelProbes(noisySnapshot());
    expect(cls.factor).to.equal('class');
    expect(cls.t, 'sorted by t').to.deep.equal(TS);
    expect(cls.peakT).to.be.oneOf([20, 40, 60]);
    expect(cls.peak).to.be.greaterThan(0.9);
    expect(cls.score[0], 'at t = 0 the class signal is gone').to.be.lessThan(0.6);
    expect(cls.ensemble).to.be.greaterThan(0.85);
    expect(x.categorical).to.equal(false);
    expect(x.peakT).to.be.oneOf([20, 40, 60]);
    expect(x.peak).to.be.greaterThan(0.5);
    expect(x.score[TS.length - 1]).to.be.lessThan(0.3);
    expect(x.ensemble).to.equal(undefined);
  });

  it('is empty without noise levels and refuses ones that do not fit in one line', () => {
    const s = noisySnapshot();
    expect(noiseLevelProbes({ ...s, noiseLevels: [] })).to.deep.equal([]);
    const bad = { ...s, noiseLevels: [{ t: 5, activations: new Float32Array(3), dim: 32 }] };
    expect(() => noiseLevelProbes(bad)).to.throw(
      'snapshot.noiseLevels[0] (t = 5) must hold N*dim = 200*32 activations (got 3)',
    );
  });
});
