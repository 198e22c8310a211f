import { expect } from 'chai';
import { lastValueFrom, of, toArray } from 'rxjs';
import { csnr } from '../../operators/csnr.js';
import { csnrClosedForm } from '../../operators/metrics/csnr.js';
import type { EventInput, CurveEvent, MetricEvent } from '../../streams/events.js';
import { molrg, sigmaFromAlphaBar } from '../../streams/molrg.js';
import { makeSchedule } from '../../engine/models/schedule.js';
import { FakeProbeModel, emptySnapshot, fakeProbeSet } from './fake-probe-model.js';

describe('csnr operator', () => {
  it('follows the class signal of the features', async () => {
    const model = new FakeProbeModel((t) => (t === 10 ? 5 : 0.5));
    const out = await lastValueFrom(
      of(emptySnapshot(3)).pipe(
        csnr({ model, probe: fakeProbeSet(300), timesteps: [0, 10, 40], basisDim: 1 }),
        toArray(),
      ),
    );
    const curve = out[0] as CurveEvent;
    expect(curve.name).to.equal('csnr/features');
    expect(curve.y[1]).to.be.above(2 * curve.y[0]);
    expect(curve.y[1]).to.be.above(2 * curve.y[2]);
    expect((out[1] as MetricEvent).name).to.equal('csnr/peak-t');
    expect((out[1] as MetricEvent).value).to.equal(10);
  });

  it('on a MoLRG probe set also emits the analytic posterior’s CSNR and the closed form', async () => {
    const shape = { classes: 3, subspaceDim: 2, ambientDim: 10, noise: 0.3 };
    const probe = molrg({ ...shape, count: 400, seed: 3 });
    const sched = makeSchedule({ kind: 'cosine', T: 100 });
    // A "model" whose features are the MoLRG examples themselves.
    const model = {
      step: 0,
      schedule: sched,
      sample: () => Promise.reject(new Error('unused')),
      features: (x: Float32Array) => Promise.resolve({ layer2: { data: x.slice(), dim: 10 } }),
      dispose: () => {},
    };
    const timesteps = [0, 10, 30, 60];
    const out = (await lastValueFrom(
      of(emptySnapshot(1)).pipe(csnr({ model, probe, timesteps, count: 400 }), toArray()),
    )) as EventInput[] as CurveEvent[];
    const byName = Object.fromEntries(out.map((e) => [e.name, e]));
    const closed = timesteps.map((t) =>
      csnrClosedForm({ ...shape, sigma: sigmaFromAlphaBar(sched.alphaBars[t]) }),
    );
    expect(byName['csnr/closed-form'].y).to.deep.equal(closed);
    byName['csnr/posterior'].y.forEach((v, i) => expect(v / closed[i]).to.be.within(0.7, 1.3));
    // Raw data: CSNR of the identity "denoiser", ≈ 1/((K-1)δ²) at any t.
    expect(byName['csnr/features'].y[0]).to.be.within(0.6 * 5.56, 1.4 * 5.56);
  });

  it('needs the schedule for the MoLRG reference', () => {
    const probe = molrg({ classes: 2, subspaceDim: 1, ambientDim: 4, count: 20 });
    const model = {
      step: 0,
      sample: () => Promise.reject(new Error('x')),
      features: () => Promise.reject(new Error('x')),
      dispose: () => {},
    };
    expect(() => csnr({ model, probe })).to.throw(
      /csnr alphaBars is needed for the MoLRG reference/,
    );
    expect(() =>
      csnr({ model: new FakeProbeModel(() => 1), probe: fakeProbeSet(30), basisDim: 0 }),
    ).to.throw(/csnr basisDim must be a positive integer \(got 0\)/);
  });
});
