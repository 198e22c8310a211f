import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import { alertOn, nonFinite, phaseChanged, stalled } from '../../operators/alert-on.js';
import type { EventInput } from '../../streams/events.js';

const scheduler = (): TestScheduler =>
  new TestScheduler((a, e) => {
    expect(a).to.deep.equal(e);
  });

const metric = (step: number, value: number): EventInput => ({
  type: 'metric',
  name: 'phase/accuracy',
  value,
  step,
});
const step = (n: number, loss: number): EventInput => ({
  type: 'step',
  step: n,
  loss,
  examplesPerSec: 1,
});
const alert = (step: number, message: string, level = 'warning'): EventInput =>
  ({ type: 'alert', level, message, step }) as EventInput;

describe('alertOn', () => {
  it('passes events on and alerts once on the edge where the predicate turns true', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const v = {
        a: metric(1, 0.9),
        b: metric(2, 0.1),
        c: metric(3, 0.05),
        d: metric(4, 0.8),
        e: metric(5, 0.2),
      };
      const low = (e: EventInput): boolean => e.type === 'metric' && e.value < 0.5;
      expectObservable(cold('-a---b---c---d---e---|', v).pipe(alertOn(low, 'accuracy fell'))).toBe(
        '-a---(bw)c---d---(ex)|',
        { ...v, w: alert(2, 'accuracy fell'), x: alert(5, 'accuracy fell') },
      );
    });
  });

  it("alerts on every event with when: 'every', with a message made from the event and a level", () => {
    scheduler().run(({ cold, expectObservable }) => {
      const v = { a: metric(1, 0.1), b: metric(2, 0.2) };
      const op = alertOn(
        () => true,
        (e: EventInput) => `at ${e.step}`,
        { when: 'every', level: 'error' },
      );
      expectObservable(cold('-a---b---|', v).pipe(op)).toBe('-(aw)(bx)|', {
        ...v,
        w: alert(1, 'at 1', 'error'),
        x: alert(2, 'at 2', 'error'),
      });
    });
  });

  it('keeps the runId of the triggering event and passes errors on', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const a = { ...metric(3, 1), runId: 'r1' } as EventInput;
      expectObservable(cold('-a---#', { a }).pipe(alertOn(() => true, 'm'))).toBe('-(aw)#', {
        a,
        w: { ...alert(3, 'm'), runId: 'r1' },
      });
    });
  });

  it('phaseChanged: alerts on a change of phase, not on the first phase', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const p = (n: number, from: 'A' | 'B' | null, to: 'A' | 'B' | 'C'): EventInput => ({
        type: 'phase',
        step: n,
        from,
        to,
        evidence: {},
      });
      const v = {
        a: p(200, null, 'A'),
        s: step(300, 0.2),
        b: p(400, 'A', 'B'),
        c: p(600, 'B', 'C'),
      };
      const op = alertOn(
        phaseChanged<EventInput>(),
        (e) => (e.type === 'phase' ? `phase ${e.from} → ${e.to}` : ''),
        {
          level: 'info',
        },
      );
      expectObservable(cold('-a-s-b---c---|', v).pipe(op)).toBe('-a-s-(bw)(cx)|', {
        ...v,
        w: alert(400, 'phase A → B', 'info'),
        x: alert(600, 'phase B → C', 'info'),
      });
    });
  });

  it('nonFinite: a NaN loss or an infinite metric', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const v = { a: step(1, 0.5), b: step(2, NaN), c: step(3, 0.4), d: metric(4, Infinity) };
      expectObservable(
        cold('-a---b---c---d---|', v).pipe(alertOn(nonFinite(), 'not finite', { level: 'error' })),
      ).toBe('-a---(bw)c---(dx)|', {
        ...v,
        w: alert(2, 'not finite', 'error'),
        x: alert(4, 'not finite', 'error'),
      });
    });
    const onlyR2 = nonFinite<EventInput>(/^phase\/r2/);
    expect(onlyR2(metric(1, NaN))).to.equal(false);
    expect(onlyR2({ type: 'metric', name: 'phase/r2x', value: NaN, step: 1 })).to.equal(true);
  });

  it('stalled: alerts once the smoothed loss has not improved for `window` steps, again after progress', () => {
    const losses = [1, 0.8, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.2, 0.2, 0.2, 0.2];
    const p = stalled<EventInput>({ window: 3, minImprovement: 0.01 });
    const hits = losses.map((l, i) => p(step(i + 1, l)));
    // no progress at steps 5, 6, 7 (three readings) → true at 7; 0.2 at step 9 is progress.
    expect(hits).to.deep.equal([
      false,
      false,
      false,
      false,
      false,
      false,
      true,
      true,
      false,
      false,
      false,
      true,
    ]);
    const acc = stalled<EventInput>({ window: 2, metric: 'phase/accuracy', better: 'higher' });
    expect([0.1, 0.5, 0.5, 0.5, 0.9].map((a, i) => acc(metric(i, a)))).to.deep.equal([
      false,
      false,
      false,
      true,
      false,
    ]);
  });

  it('rejects bad arguments in one line naming them', () => {
    expect(() => alertOn(null as never, 'm')).to.throw(/^alertOn predicate must be a function/);
    expect(() => alertOn(() => true, 'm', { level: 'loud' as never })).to.throw(
      /^alertOn level must be one of info, warning, error \(got loud\)$/,
    );
    expect(() => alertOn(() => true, 'm', { when: 'sometimes' as never })).to.throw(
      /^alertOn when/,
    );
    expect(() => stalled({ window: 0 })).to.throw(
      /^stalled window must be a positive integer \(got 0\)$/,
    );
  });
});
