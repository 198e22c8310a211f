import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import { nextHysteresis, phaseHysteresis } from '../../operators/phase-hysteresis.js';
import type { Phase } from '../../streams/events.js';
import { fakeAssessment } from './fake-assessment.js';

describe('phaseHysteresis', () => {
  it('takes the first raw phase, then needs `confirm` consecutive snapshots to change', () => {
    let s = nextHysteresis({ phase: null, candidate: null, streak: 0 }, 'A', 2);
    expect(s.phase).to.equal('A');
    s = nextHysteresis(s, 'B', 2);
    expect(s).to.deep.equal({ phase: 'A', candidate: 'B', streak: 1 });
    s = nextHysteresis(s, 'C', 2);
    expect(s).to.deep.equal({ phase: 'A', candidate: 'C', streak: 1 });
    s = nextHysteresis(s, 'C', 2);
    expect(s).to.deep.equal({ phase: 'C', candidate: null, streak: 0 });
    expect(nextHysteresis(s, 'A', 1).phase).to.equal('A');
  });

  it('smooths a stream of assessments and keeps the raw phase (marbles)', () => {
    const scheduler = new TestScheduler((a, e) => {
      expect(a).to.deep.equal(e);
    });
    scheduler.run(({ cold, expectObservable }) => {
      const raw: Phase[] = ['A', 'B', 'A', 'B', 'B', 'C', 'B', 'C', 'C'];
      const values = Object.fromEntries(raw.map((p, i) => [String(i), fakeAssessment(i, p)]));
      const want: Phase[] = ['A', 'A', 'A', 'A', 'B', 'B', 'B', 'B', 'C'];
      const out = Object.fromEntries(
        raw.map((p, i) => [String(i), { ...fakeAssessment(i, want[i]), rawPhase: p }]),
      );
      expectObservable(cold('-0-1-2-3-4-5-6-7-8-|', values).pipe(phaseHysteresis(2))).toBe(
        '-0-1-2-3-4-5-6-7-8-|',
        out,
      );
    });
  });

  it('rejects a bad confirm', () => {
    expect(() => phaseHysteresis(0)).to.throw(/^confirm must be an integer >= 1 \(got 0\)$/);
  });
});
