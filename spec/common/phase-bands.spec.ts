import { expect } from 'chai';
import { phaseSegments } from '../../common/phase-bands.js';
import type { Phase } from '../../streams/events.js';

describe('phaseSegments', () => {
  const a = (step: number, phase: Phase) => ({ step, phase, evidence: { step } });

  it('merges runs of one phase and extends the last to the end step', () => {
    const segs = phaseSegments(
      [a(50, 'A'), a(100, 'A'), a(150, 'B'), a(200, 'C'), a(250, 'C')],
      300,
    );
    expect(segs.map(({ phase, from, to, count }) => ({ phase, from, to, count }))).to.deep.equal([
      { phase: 'A', from: 50, to: 150, count: 2 },
      { phase: 'B', from: 150, to: 200, count: 1 },
      { phase: 'C', from: 200, to: 300, count: 2 },
    ]);
    expect(segs[1].evidence).to.deep.equal({ step: 150 });
  });

  it('sorts out-of-order assessments, copes with none and with an end before the last', () => {
    expect(phaseSegments([], 100)).to.deep.equal([]);
    const segs = phaseSegments([a(20, 'B'), a(10, 'A')], 5);
    expect(segs.map((s) => [s.phase, s.from, s.to])).to.deep.equal([
      ['A', 10, 20],
      ['B', 20, 20],
    ]);
  });

  it('draws no band for an assessment whose phase was withheld: the phase before holds on', () => {
    const withheld = { ...a(100, 'C'), warning: 'phase not judged: …' };
    const segs = phaseSegments([a(50, 'A'), withheld, a(150, 'B')], 200);
    expect(segs.map(({ phase, from, to }) => ({ phase, from, to }))).to.deep.equal([
      { phase: 'A', from: 50, to: 150 },
      { phase: 'B', from: 150, to: 200 },
    ]);
    expect(phaseSegments([withheld], 200)).to.deep.equal([]);
  });
});
