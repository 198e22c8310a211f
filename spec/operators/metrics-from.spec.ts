import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import { lastValueFrom, of, toArray } from 'rxjs';
import { metricsFrom } from '../../operators/metrics-from.js';
import type { Snapshot } from '../../streams/events.js';

const snap = (step: number): Snapshot => ({
  runId: 'r',
  step,
  size: 1,
  labels: new Float32Array(0),
  images: new Float32Array([step, step + 1]),
  activations: new Float32Array(0),
  dim: 0,
});
const m = (name: string, value: number, step: number) => ({ type: 'metric', name, value, step });

describe('metricsFrom', () => {
  it('turns a function of a snapshot into metric events at its step', () => {
    new TestScheduler((a, b) => {
      expect(a).to.deep.equal(b);
    }).run(({ cold, expectObservable }) => {
      const out = cold('-a-----b---|', { a: snap(1), b: snap(2) }).pipe(
        metricsFrom((s) => ({ first: s.images[0], second: s.images[1] }), { prefix: 'custom' }),
      );
      expectObservable(out).toBe('-(xy)--(zw)|', {
        x: m('custom/first', 1, 1),
        y: m('custom/second', 2, 1),
        z: m('custom/first', 2, 2),
        w: m('custom/second', 3, 2),
      });
    });
  });

  it('awaits an async function, keeping snapshot order', async () => {
    const out = await lastValueFrom(
      of(snap(1), snap(2)).pipe(
        metricsFrom(async (s) => {
          await new Promise((r) => setTimeout(r, s.step === 1 ? 20 : 0));
          return { v: s.step };
        }),
        toArray(),
      ),
    );
    expect(out).to.deep.equal([m('v', 1, 1), m('v', 2, 2)]);
  });

  it('errors with the metric name on a non-finite value', async () => {
    let message = '';
    await lastValueFrom(of(snap(1)).pipe(metricsFrom(() => ({ bad: NaN }), { prefix: 'p' }))).catch(
      (e: Error) => (message = e.message),
    );
    expect(message).to.equal('metric p/bad must be a finite number (got NaN)');
  });
});
