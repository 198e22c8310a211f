import { expect } from 'chai';
import type { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { assessPhases } from '../../operators/assess-phases.js';
import type { AssessOptions } from '../../operators/metrics/assess-snapshot.js';
import type { Phase } from '../../streams/events.js';
import type { Assessment, Snapshot } from '../../streams/events.js';
import { fakeAssessment } from './fake-assessment.js';

const snap = (step: number): Snapshot => ({
  runId: 'r',
  step,
  size: 4,
  labels: new Float32Array(0),
  images: new Float32Array(0),
  activations: new Float32Array(0),
  dim: 1,
});

describe('assessPhases', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((a, e) => {
      expect(a).to.deep.equal(e);
    });
  });

  it('assesses in order, one at a time, and applies hysteresis (injected assessor)', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const raw: Record<number, Phase> = { 1: 'A', 2: 'B', 3: 'B', 4: 'C' };
      const seen: AssessOptions[] = [];
      const assess = (s: Snapshot, o: AssessOptions): Observable<Assessment> => {
        seen.push(o);
        return cold('--(a|)', { a: fakeAssessment(s.step, raw[s.step]) });
      };
      const src = cold('-1-2-3-4-|', { 1: snap(1), 2: snap(2), 3: snap(3), 4: snap(4) });
      const expected = (step: number, phase: Phase) => ({
        ...fakeAssessment(step, phase),
        rawPhase: raw[step],
      });
      // Each assessment takes 2 frames; concatMap keeps order: 3, 5, 7, 9.
      expectObservable(src.pipe(assessPhases({ confirm: 2, seed: 7, assess }))).toBe(
        '---a-b-c-(d|)',
        { a: expected(1, 'A'), b: expected(2, 'A'), c: expected(3, 'B'), d: expected(4, 'B') },
      );
      scheduler.flush();
      expect(seen[0]).to.deep.equal({ seed: 7 });
    });
  });

  it('queues a slow assessment instead of dropping snapshots', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const assess = (s: Snapshot) => cold('----(a|)', { a: fakeAssessment(s.step, 'A') });
      const src = cold('12|', { 1: snap(1), 2: snap(2) });
      const a = (step: number) => ({ ...fakeAssessment(step, 'A'), rawPhase: 'A' as Phase });
      expectObservable(src.pipe(assessPhases({ assess }))).toBe('----a---(b|)', {
        a: a(1),
        b: a(2),
      });
    });
  });

  it('rejects bad options at construction with one-line errors', () => {
    expect(() => assessPhases({ confirm: 0 })).to.throw(/^confirm must be an integer >= 1/);
    expect(() => assessPhases({ tol: -1 })).to.throw(/^tol must be a number > 0/);
    expect(() => assessPhases({ embed: 'tsne' as 'umap' })).to.throw(
      /^embed must be 'umap' or 'pca'/,
    );
  });
});
