import { expect } from 'chai';
import {
  chartedMetric,
  conditionStates,
  decidingCondition,
  describeCondition,
} from '../../common/phase-rule.js';

// Evidence as assessSnapshot writes it, with thresholds that are not the defaults: the rule is
// read from the evidence, never from a copy.
const evidence = (over: Record<string, number> = {}): Record<string, number> => ({
  n: 200,
  tol: 1.5,
  oneBump: 0.9,
  accuracyOneBump: 0.95,
  r2mean: 0.45,
  neighbourhood: 0.6,
  minOneBump: 0.6,
  minAccuracyOneBump: 0.85,
  minR2: 0.4,
  minNeighbourhood: 0.3,
  ...over,
});

describe('phase rule', () => {
  it('charts no rule setting and no evidence figure whose phase/ twin is there', () => {
    const names = new Set([
      'phase/r2',
      'phase/one-bump',
      'evidence/r2mean',
      'evidence/oneBump',
      'evidence/minR2',
      'evidence/n',
      'evidence/tol',
      'evidence/neighbourhood',
      'evidence/accuracyOneBump',
    ]);
    expect([...names].filter((n) => chartedMetric(n, names))).to.deep.equal([
      'phase/r2',
      'phase/one-bump',
      'evidence/neighbourhood',
      'evidence/accuracyOneBump',
    ]);
    // the representation rule's thresholds and sizes are settings too; its figures are charted
    const repr = [
      'evidence/maxDimRatio',
      'evidence/minStructure',
      'evidence/k',
      'evidence/structure',
    ];
    expect(repr.filter((n) => chartedMetric(n, repr))).to.deep.equal(['evidence/structure']);
    // without its twin an evidence figure is still charted
    expect(chartedMetric('evidence/r2mean', ['evidence/r2mean'])).to.equal(true);
  });

  it('reads each condition with the threshold the evidence holds', () => {
    const states = conditionStates(evidence({ r2mean: 0.35 }));
    expect(states.map((s) => [s.condition.figure, s.threshold, s.holds])).to.deep.equal([
      ['oneBump', 0.6, true],
      ['accuracyOneBump', 0.85, true],
      ['r2mean', 0.4, false],
      ['neighbourhood', 0.3, true],
    ]);
    expect(describeCondition(states[2])).to.equal('R² of the embedding 0.35 < 0.4');
    // a condition the evidence lacks (a synthetic run's) is left out, not guessed
    expect(conditionStates({ oneBump: 0.7 })).to.deep.equal([]);
  });

  it('names the condition that decided a transition', () => {
    const figure = (from: 'A' | 'B' | 'C' | null, to: 'A' | 'B' | 'C', e = evidence()) =>
      decidingCondition(from, to, e)?.condition.figure;
    // into C: the condition with the least margin, the last to be met (R² 0.05 above 0.4)
    expect(figure('A', 'C')).to.equal('r2mean');
    expect(figure('B', 'C', evidence({ neighbourhood: 0.31 }))).to.equal('neighbourhood');
    // into and out of A: the one-bump share
    expect(figure('C', 'A', evidence({ oneBump: 0.2 }))).to.equal('oneBump');
    expect(figure(null, 'B', evidence({ accuracyOneBump: 0.1 }))).to.equal('oneBump');
    // from C back to B: the condition furthest below its threshold
    expect(figure('C', 'B', evidence({ accuracyOneBump: 0.5, r2mean: 0.39 }))).to.equal(
      'accuracyOneBump',
    );
    expect(decidingCondition('A', 'C', {})).to.equal(undefined);
  });
});
