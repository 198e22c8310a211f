import { expect } from 'chai';
import { lastValueFrom, of, toArray } from 'rxjs';
import { timestepProbes } from '../../operators/timestep-probes.js';
import type { EventInput, CurveEvent, MetricEvent } from '../../streams/events.js';
import { FakeProbeModel, emptySnapshot, fakeProbeSet } from './fake-probe-model.js';

// Class signal peaks at t = 20: accuracy should too.
const peaked = (t: number): number => 4 * Math.exp(-((t - 20) ** 2) / 200);

describe('timestepProbes', () => {
  it('emits the accuracy-vs-timestep curve and the best accuracy and timestep at each snapshot', async () => {
    const model = new FakeProbeModel(peaked);
    const op = timestepProbes({
      model,
      probe: fakeProbeSet(300),
      timesteps: [0, 10, 20, 40, 80],
      seed: 2,
    });
    const out = await lastValueFrom(of(emptySnapshot(100), emptySnapshot(200)).pipe(op, toArray()));
    expect(out.map((e) => `${e.step} ${e.type}`)).to.deep.equal([
      '100 curve',
      '100 metric',
      '100 metric',
      '200 curve',
      '200 metric',
      '200 metric',
    ]);
    const curve = out[0] as CurveEvent;
    expect(curve.name).to.equal('probe/acc-clean');
    expect(curve.x).to.deep.equal([0, 10, 20, 40, 80]);
    const [a0, a10, a20, a40, a80] = curve.y;
    expect(a20).to.be.above(0.95);
    expect(a20).to.be.at.least(a10);
    expect(a10).to.be.above(a0);
    expect(a40).to.be.below(a20);
    expect(a80).to.be.below(0.6); // no signal: chance is 1/3
    expect((out[1] as MetricEvent).name).to.equal('probe/best-acc-clean');
    expect((out[1] as MetricEvent).value).to.equal(Math.max(...curve.y));
    expect((out[2] as MetricEvent).value).to.equal(20);
    expect(model.freezes).to.equal(2);
    expect(model.disposed).to.equal(2);
  });

  it('is at chance with no class signal; names label-noise curves', async () => {
    const flat = timestepProbes({
      model: new FakeProbeModel(() => 0),
      probe: fakeProbeSet(600),
      timesteps: [5],
    });
    const [c] = (await lastValueFrom(
      of(emptySnapshot(1)).pipe(flat, toArray()),
    )) as EventInput[] as CurveEvent[];
    expect(c.y[0]).to.be.within(0.2, 0.47);
    const noisy = timestepProbes({
      model: new FakeProbeModel(() => 4),
      probe: fakeProbeSet(600),
      timesteps: [5],
      labelNoise: 1,
    });
    const [d] = (await lastValueFrom(
      of(emptySnapshot(1)).pipe(noisy, toArray()),
    )) as EventInput[] as CurveEvent[];
    // Random training labels on three tight clusters: each cluster's vote is a coin toss, so
    // only the name and range are certain here.
    expect(d.name).to.equal('probe/acc-clean-noise100');
    expect(d.y[0]).to.be.within(0, 1);
  });

  it('names noisy-input curves and rejects bad options', () => {
    const model = new FakeProbeModel(() => 1);
    const probe = fakeProbeSet(30);
    expect(() => timestepProbes({ model, probe, labelNoise: 2 })).to.throw(
      /timestepProbes labelNoise must be a fraction in \[0, 1\] \(got 2\)/,
    );
    expect(() => timestepProbes({ model, probe, timesteps: [100] })).to.throw(
      /timestepProbes timesteps must be integers in \[0, 99\] \(got 100\)/,
    );
  });
});
