import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import { phaseEvents } from '../../operators/phase-events.js';
import { fakeAssessment } from './fake-assessment.js';

describe('phaseEvents', () => {
  it('emits a phase event at each confirmed change, from the given initial phase', () => {
    new TestScheduler((a, b) => {
      expect(a).to.deep.equal(b);
    }).run(({ cold, expectObservable }) => {
      const a = fakeAssessment(1, 'A');
      const c = fakeAssessment(2, 'C');
      const ev = (
        step: number,
        from: 'A' | null,
        to: 'A' | 'C',
        evidence: Record<string, number>,
      ) => ({
        type: 'phase',
        step,
        from,
        to,
        evidence,
      });
      expectObservable(cold('-a-a-c-|', { a, c }).pipe(phaseEvents())).toBe('-x---y-|', {
        x: ev(1, null, 'A', a.evidence),
        y: ev(2, 'A', 'C', c.evidence),
      });
      expectObservable(cold('-a-c-|', { a, c }).pipe(phaseEvents('A'))).toBe('---y-|', {
        y: ev(2, 'A', 'C', c.evidence),
      });
    });
  });
});
