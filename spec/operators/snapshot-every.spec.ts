import { expect } from 'chai';
import { firstValueFrom, of, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { snapshotEvery } from '../../operators/snapshot-every.js';
import type { StepEvent } from '../../streams/events.js';
import type { Snapshot } from '../../streams/events.js';

const step = (n: number): StepEvent => ({
  type: 'step',
  runId: 'r',
  seq: n,
  step: n,
  time: 0,
  loss: 1,
  examplesPerSec: 1,
});
const snap = (n: number): Snapshot => ({
  runId: 'r',
  step: n,
  size: 4,
  labels: new Float32Array(0),
  images: new Float32Array(0),
  activations: new Float32Array(0),
  dim: 1,
});
const steps = {
  a: step(0),
  b: step(1),
  c: step(2),
  d: step(3),
  e: step(4),
  f: step(5),
  g: step(6),
};

describe('snapshotEvery', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('samples on steps divisible by k, never step 0', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const src = cold('a-b-c-d-e-f-g-|', steps);
      const out = src.pipe(snapshotEvery(2, (e) => cold('(s|)', { s: snap(e.step) })));
      expectObservable(out).toBe('----x---y---z-|', { x: snap(2), y: snap(4), z: snap(6) });
    });
  });

  it('skips due steps while a snapshot is in flight and reports each skip', () => {
    const skipped: number[] = [];
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const samples: ReturnType<typeof cold<Snapshot>>[] = [];
      const src = cold('a-b-c-d-e-f-g-|', steps);
      const out = src.pipe(
        snapshotEvery(
          2,
          (e) => {
            const s = cold('-----(s|)', { s: snap(e.step) });
            samples.push(s);
            return s;
          },
          { onSkip: (e) => skipped.push(e.step) },
        ),
      );
      // Step 2 at frame 4 → ready at 9; step 4 (frame 8) is skipped; step 6 at 12 → ready at 17.
      expectObservable(out).toBe('---------x-------(y|)', { x: snap(2), y: snap(6) });
      scheduler.flush();
      expect(samples.length).to.equal(2);
      expectSubscriptions(samples[0].subscriptions).toBe('----^----!');
    });
    expect(skipped).to.deep.equal([4]);
  });

  it('keeps per-subscription state: a second subscriber is not blocked by the first', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const src = cold('-c-|', steps);
      const op = snapshotEvery(1, (e) => cold('--(s|)', { s: snap(e.step) }));
      const out = src.pipe(op);
      expectObservable(out).toBe('---(x|)', { x: snap(2) });
      expectObservable(out).toBe('---(x|)', { x: snap(2) });
    });
  });

  it('takes the first value of a sampler that never completes', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const out = cold('-c---e-|', steps).pipe(
        snapshotEvery(2, (e) => cold('-s-s', { s: snap(e.step) })),
      );
      expectObservable(out).toBe('--x---y|', { x: snap(2), y: snap(4) });
    });
  });

  it('propagates sampler errors', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const out = cold('-c-|', steps).pipe(
        snapshotEvery(2, () => cold<Snapshot>('-#', {}, new Error('boom'))),
      );
      expectObservable(out).toBe('--#', {}, new Error('boom'));
    });
  });

  it('accepts a Promise-returning sampler', async () => {
    const out = await firstValueFrom(
      of(step(1), step(2), step(3)).pipe(
        snapshotEvery(1, async (e) => snap(e.step)),
        toArray(),
      ),
    );
    // Promises resolve after the synchronous source has moved on: steps 2 and 3 are skipped.
    expect(out.map((s) => s.step)).to.deep.equal([1]);
  });

  it('rejects k that is not a positive integer with a one-line error', () => {
    const sampler = () => of(snap(0));
    expect(() => snapshotEvery(0, sampler)).to.throw(
      /^k must be a positive integer number of steps \(got 0\)$/,
    );
    expect(() => snapshotEvery(1.5, sampler)).to.throw(/^k must be a positive integer/);
  });
});
