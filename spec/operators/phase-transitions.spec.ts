import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import { phaseTransitions } from '../../operators/phase-transitions.js';
import type { Assessment } from '../../streams/events.js';
import { fakeAssessment } from './fake-assessment.js';

describe('phaseTransitions', () => {
  it('emits on the first assessment and whenever the phase changes', () => {
    const scheduler = new TestScheduler((a, e) => {
      expect(a).to.deep.equal(e);
    });
    scheduler.run(({ cold, expectObservable }) => {
      const v = {
        1: fakeAssessment(1, 'A'),
        2: fakeAssessment(2, 'A'),
        3: fakeAssessment(3, 'B'),
        4: fakeAssessment(4, 'B'),
        5: fakeAssessment(5, 'C'),
        6: fakeAssessment(6, 'B'),
      };
      expectObservable(cold('-1-2-3-4-5-6-|', v).pipe(phaseTransitions())).toBe('-a---b---c-d-|', {
        a: { step: 1, from: null, to: 'A', evidence: { step: 1 } },
        b: { step: 3, from: 'A', to: 'B', evidence: { step: 3 } },
        c: { step: 5, from: 'B', to: 'C', evidence: { step: 5 } },
        d: { step: 6, from: 'C', to: 'B', evidence: { step: 6 } },
      });
    });
  });

  it('emits nothing for an empty stream and starts afresh per subscription', () => {
    const scheduler = new TestScheduler((a, e) => {
      expect(a).to.deep.equal(e);
    });
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold<Assessment>('--|').pipe(phaseTransitions())).toBe('--|');
      const src = cold('-1-|', { 1: fakeAssessment(1, 'C') }).pipe(phaseTransitions());
      const t = { step: 1, from: null, to: 'C', evidence: { step: 1 } };
      expectObservable(src).toBe('-t-|', { t });
      expectObservable(src).toBe('-t-|', { t });
    });
  });
});
