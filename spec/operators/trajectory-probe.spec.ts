import { expect } from 'chai';
import { lastValueFrom, of, toArray } from 'rxjs';
import { selectBackend } from '../../engine/backend/backend.js';
import { trajectoryProbe } from '../../operators/trajectory-probe.js';
import type { CurveEvent, MetricEvent } from '../../streams/events.js';
import { FakeProbeModel, emptySnapshot, fakeProbeSet } from './fake-probe-model.js';

describe('trajectoryProbe', () => {
  before(async () => {
    await selectBackend('native').catch(() => selectBackend('cpu'));
  });

  it('attention variant: emits accuracy, attention profile over t and the per-timestep comparison', async () => {
    // Noisy inputs: independent noise per timestep, the class signal only at t = 20.
    const model = new FakeProbeModel((t) => (t === 20 ? 3 : 0));
    const op = trajectoryProbe({
      model,
      probe: fakeProbeSet(300),
      kind: 'attention',
      timesteps: [0, 10, 20, 40],
      input: 'noisy',
      iterations: 80,
    });
    const out = await lastValueFrom(of(emptySnapshot(9)).pipe(op, toArray()));
    const by = Object.fromEntries(out.map((e) => [(e as MetricEvent | CurveEvent).name, e]));
    expect(Object.keys(by).sort()).to.deep.equal([
      'trajectory/attention',
      'trajectory/attention-acc',
      'trajectory/best-point-acc',
      'trajectory/gain',
      'trajectory/point-acc',
    ]);
    const att = (by['trajectory/attention'] as CurveEvent).y;
    expect(att.indexOf(Math.max(...att))).to.equal(2);
    expect((by['trajectory/attention-acc'] as MetricEvent).value).to.be.above(0.8);
    const point = (by['trajectory/point-acc'] as CurveEvent).y;
    expect(point.indexOf(Math.max(...point))).to.equal(2);
    expect(point[0]).to.be.below(0.6);
    expect(model.disposed).to.equal(1);
  });

  it('rejects bad options', () => {
    const model = new FakeProbeModel(() => 1);
    expect(() =>
      trajectoryProbe({ model, probe: fakeProbeSet(30), kind: 'lstm' as 'gru' }),
    ).to.throw(/trajectoryProbe kind must be one of gru, attention \(got "lstm"\)/);
  });
});
