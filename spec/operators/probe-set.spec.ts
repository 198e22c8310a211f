import { expect } from 'chai';
import { Subject, of, toArray, lastValueFrom } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  checkTimesteps,
  featuresAt,
  perSnapshot,
  resolveProbeSet,
  timestepsOption,
} from '../../operators/probe-set.js';
import type { EventInput, Snapshot } from '../../streams/events.js';
import { FakeProbeModel, emptySnapshot, fakeProbeSet } from './fake-probe-model.js';

const metric = (step: number, name: string): EventInput => ({
  type: 'metric',
  step,
  name,
  value: step,
});

describe('perSnapshot', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('works on every snapshot in order, none dropped, flattening each one’s events', () => {
    scheduler.run(({ cold, hot, expectObservable }) => {
      const model = new FakeProbeModel(() => 1);
      const snaps = hot('--a-b-----------|', { a: emptySnapshot(1), b: emptySnapshot(2) });
      const out = snaps.pipe(
        perSnapshot(model, (s) =>
          cold('----(x|)', { x: [metric(s.step, 'p'), metric(s.step, 'q')] }),
        ),
      );
      expectObservable(out).toBe('------(xy)(zw)--|', {
        x: metric(1, 'p'),
        y: metric(1, 'q'),
        z: metric(2, 'p'),
        w: metric(2, 'q'),
      });
    });
  });

  it('passes errors of the work on', () => {
    scheduler.run(({ cold, hot, expectObservable }) => {
      const model = new FakeProbeModel(() => 1);
      const out = hot('--a--', { a: emptySnapshot(1) }).pipe(
        perSnapshot(model, () => cold('-#', undefined, new Error('boom'))),
      );
      expectObservable(out).toBe('---#', undefined, new Error('boom'));
    });
  });

  it('freezes the model when a snapshot arrives and disposes each frozen copy (queued ones on unsubscribe)', () => {
    const model = new FakeProbeModel(() => 1);
    const snaps = new Subject<Snapshot>();
    const gate = new Subject<EventInput[]>();
    const sub = snaps.pipe(perSnapshot(model, () => gate)).subscribe();
    snaps.next(emptySnapshot(1));
    snaps.next(emptySnapshot(2)); // queued behind the first
    expect(model.freezes).to.equal(2); // both frozen on arrival
    gate.next([metric(1, 'p')]);
    gate.complete(); // work 1 done; work 2 subscribes to the completed gate and ends too
    expect(model.disposed).to.equal(2);
    sub.unsubscribe();
    const gate2 = new Subject<EventInput[]>();
    const sub2 = snaps.pipe(perSnapshot(model, () => gate2)).subscribe();
    snaps.next(emptySnapshot(3));
    snaps.next(emptySnapshot(4));
    sub2.unsubscribe();
    expect(model.freezes).to.equal(4);
    expect(model.disposed).to.equal(4);
  });
});

describe('resolveProbeSet / featuresAt / checkTimesteps', () => {
  it('draws examples, classes and a split from the dataset field', () => {
    const set = resolveProbeSet(
      { model: new FakeProbeModel(() => 1), probe: fakeProbeSet(50), count: 40 },
      'op',
    );
    expect(set.examples).to.have.length(80);
    expect(set.K).to.equal(3);
    expect(set.train.length + set.test.length).to.equal(40);
    expect(set.noisy).to.equal(false);
  });

  it('shares one features() call per snapshot, timestep and set across operators', async () => {
    const model = new FakeProbeModel(() => 1);
    const probe = fakeProbeSet(30);
    const a = resolveProbeSet({ model, probe, count: 30 }, 'a');
    const b = resolveProbeSet({ model, probe, count: 30 }, 'b');
    const s = emptySnapshot(5);
    await featuresAt(s, model, a, 3);
    await featuresAt(s, model, b, 3);
    expect(model.calls).to.equal(1);
    await featuresAt(s, model, a, 4);
    await featuresAt(emptySnapshot(5), model, a, 3); // another snapshot: computed again
    expect(model.calls).to.equal(3);
    await featuresAt(s, model, { ...a, layer: 'nope' }, 3).then(
      () => expect.fail('unknown layer accepted'),
      (err: Error) =>
        expect(err.message).to.match(
          /layer "nope" is not an activation of the model \(has: layer2\)/,
        ),
    );
  });

  it('rejects bad options with one-line errors naming the field', () => {
    const model = new FakeProbeModel(() => 1);
    const probe = fakeProbeSet(30);
    expect(() => resolveProbeSet({ model, probe, field: 'x' }, 'op')).to.throw(
      /op field "x" is not a field of the probe set \(has: class\)/,
    );
    expect(() => resolveProbeSet({ model, probe, input: 'raw' as 'clean' }, 'op')).to.throw(
      /op input must be one of clean, noisy \(got "raw"\)/,
    );
    expect(() => resolveProbeSet({ model: {} as FakeProbeModel, probe }, 'op')).to.throw(
      /op model must have a features\(\) method/,
    );
    expect(() => resolveProbeSet({ model, probe, targets: [0, 1] }, 'op')).to.throw(
      /targets must hold one class per probe example, >= 30 \(got 2\)/,
    );
    expect(() => resolveProbeSet({ model, probe, targets: new Array(30).fill(0) }, 'op')).to.throw(
      /needs >= 2 classes \(got 1\)/,
    );
    expect(checkTimesteps([10, 0, 5], 'op', 100)).to.deep.equal([0, 5, 10]);
    expect(() => checkTimesteps([0, 100], 'op', 100)).to.throw(
      /op timesteps must be integers in \[0, 99\] \(got 100\)/,
    );
    expect(() => checkTimesteps([1, 1], 'op')).to.throw(/must be distinct/);
    expect(() => checkTimesteps([], 'op')).to.throw(/non-empty array/);
  });

  it("timestepsOption: an operator's timesteps checked against its model's T, else the default grid", () => {
    const model = { schedule: { T: 50 } };
    expect(timestepsOption({ model: { config: { T: 100 } } }, 'op')).to.deep.equal([
      0, 5, 10, 20, 40, 60, 80,
    ]);
    expect(() => timestepsOption({ model }, 'op')).to.throw(/in \[0, 49\] \(got 60\)/);
    expect(timestepsOption({ model, timesteps: [9, 3] }, 'op')).to.deep.equal([3, 9]);
    expect(timestepsOption({ model: {} }, 'op', [0, 10])).to.deep.equal([0, 10]);
    expect(() => timestepsOption({ model, timesteps: [60] }, 'op')).to.throw(
      /op timesteps must be integers in \[0, 49\] \(got 60\)/,
    );
  });

  it('is usable end to end on of()', async () => {
    const model = new FakeProbeModel(() => 1);
    const out = await lastValueFrom(
      of(emptySnapshot(1)).pipe(
        perSnapshot(model, async () => [metric(1, 'x')]),
        toArray(),
      ),
    );
    expect(out).to.deep.equal([metric(1, 'x')]);
  });
});
