import { expect } from 'chai';
import { lastValueFrom, of, toArray } from 'rxjs';
import { softVote } from '../../operators/soft-vote.js';
import type { EventInput, MetricEvent } from '../../streams/events.js';
import { FakeProbeModel, emptySnapshot, fakeProbeSet } from './fake-probe-model.js';

const values = async (op: ReturnType<typeof softVote>): Promise<Record<string, number>> => {
  const out = (await lastValueFrom(
    of(emptySnapshot(7)).pipe(op, toArray()),
  )) as EventInput[] as MetricEvent[];
  expect(out.every((e) => e.type === 'metric' && e.step === 7)).to.equal(true);
  return Object.fromEntries(out.map((e) => [e.name, e.value]));
};

describe('softVote', () => {
  it('of identical probes (features identical at every t) equals the single probe', async () => {
    // Clean inputs: the fake gives the same features at every t when the signal is constant.
    const v = await values(
      softVote({
        model: new FakeProbeModel(() => 1.2),
        probe: fakeProbeSet(300),
        timesteps: [0, 5, 10, 20, 40],
      }),
    );
    expect(v['ensemble/vote-noise0']).to.equal(v['ensemble/single-noise0']);
    expect(v['ensemble/gain-noise0']).to.equal(0);
  });

  it('beats the best single timestep when members see independent noise, more under label noise', async () => {
    // Noisy inputs: independent feature noise per timestep, equal class signal.
    const v = await values(
      softVote({
        model: new FakeProbeModel(() => 1.2),
        probe: fakeProbeSet(600),
        timesteps: [0, 5, 10, 20, 40],
        input: 'noisy',
        labelNoise: [0, 0.8],
        seed: 3,
      }),
    );
    expect(v['ensemble/vote-noise0']).to.be.above(v['ensemble/single-noise0']);
    expect(v['ensemble/vote-noise80']).to.be.above(v['ensemble/single-noise80']);
    expect(v['ensemble/single-noise80']).to.be.below(v['ensemble/single-noise0']);
    expect(v['ensemble/best-t-noise0']).to.be.oneOf([0, 5, 10, 20, 40]);
  });

  it('centres on a given timestep and rejects bad options', async () => {
    const v = await values(
      softVote({
        model: new FakeProbeModel((t) => (t === 0 ? 3 : 0)),
        probe: fakeProbeSet(150),
        timesteps: [0, 5, 10],
        around: 10,
        coarse: 0,
        fine: 0,
      }),
    );
    expect(v['ensemble/best-t-noise0']).to.equal(10);
    expect(v['ensemble/single-noise0']).to.be.below(0.6);
    const model = new FakeProbeModel(() => 1);
    const probe = fakeProbeSet(30);
    expect(() => softVote({ model, probe, timesteps: [0, 5], around: 7 })).to.throw(
      /softVote around must be 'best' or a timestep of the grid \[0,5\] \(got 7\)/,
    );
    expect(() => softVote({ model, probe, labelNoise: [] })).to.throw(
      /labelNoise must be a non-empty array/,
    );
    expect(() => softVote({ model, probe, coarse: -1 })).to.throw(
      /coarse must be a non-negative integer/,
    );
  });
});
