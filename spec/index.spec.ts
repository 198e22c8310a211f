import { expect } from 'chai';
import { createRequire } from 'node:module';
import * as api from 'phasewatch';

describe('package root', () => {
  it('exports the public API of DESIGN.md §3 under its names', () => {
    for (const name of [
      'gaussianBumps',
      'training',
      'replay',
      'snapshotEvery',
      'assessPhases',
      'phaseTransitions',
      'assessSnapshot',
      'locateBump',
      'otsuThreshold',
      'linearR2',
      'umapEmbed',
      'runExperiment',
      'startServer',
      'RunStore',
    ]) {
      expect(api, name).to.have.property(name).that.is.a('function');
    }
  });

  it('resolves through require.resolve as well as import', () => {
    expect(createRequire(import.meta.url).resolve('phasewatch')).to.match(/index\.ts$/);
  });
});
