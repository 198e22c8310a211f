import { expect } from 'chai';
import { lastValueFrom, of, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { emaMetric } from '../../operators/ema-metric.js';

const step = (n: number, loss: number) => ({
  type: 'step' as const,
  step: n,
  loss,
  examplesPerSec: 0,
});
const m = (value: number, n: number, name = 'train/loss-ema') => ({
  type: 'metric',
  name,
  value,
  step: n,
});

const scheduler = () =>
  new TestScheduler((a, b) => {
    expect(a).to.deep.equal(b);
  });

describe('emaMetric', () => {
  it("averages each step's loss, debiased, as metric events at its step", () => {
    scheduler().run(({ cold, expectObservable }) => {
      const out = cold('-a-b-c-|', { a: step(1, 1), b: step(2, 3), c: step(3, 3) }).pipe(
        emaMetric('train/loss-ema', { decay: 0.5 }),
      );
      expectObservable(out).toBe('-x-y-z-|', { x: m(1, 1), y: m(7 / 3, 2), z: m(19 / 7, 3) });
    });
  });

  it('emits every n-th input, of any value, and skips non-finite ones', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const out = cold('-a-b-c-d-|', {
        a: { step: 1, acc: 2 },
        b: { step: 2, acc: NaN },
        c: { step: 3, acc: 2 },
        d: { step: 4, acc: 2 },
      }).pipe(emaMetric('acc', { decay: 0.9, value: (e) => e.acc, every: 2 }));
      expectObservable(out).toBe('-----y---|', { y: m(2, 3, 'acc') });
    });
  });

  it('passes errors and completion on', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const out = cold('-a-#', { a: step(1, 4) }).pipe(emaMetric('l', { decay: 0 }));
      expectObservable(out).toBe('-x-#', { x: m(4, 1, 'l') });
    });
  });

  it('errors in one line when the value is not a number', async () => {
    const err = await lastValueFrom(of({ step: 5 }).pipe(emaMetric('x/ema'), toArray())).catch(
      (e: Error) => e.message,
    );
    expect(err).to.equal(
      'emaMetric x/ema: the value at step 5 is not a number (got undefined); pass opts.value',
    );
  });

  it('refuses bad options naming the field', () => {
    expect(() => emaMetric('', {})).to.throw(/^emaMetric name must be/);
    expect(() => emaMetric('a', { decay: 1 })).to.throw(
      'emaMetric decay must be a number >= 0 and < 1 (got 1)',
    );
    expect(() => emaMetric('a', { every: 0 })).to.throw(
      'emaMetric every must be an integer >= 1 (got 0)',
    );
  });
});
