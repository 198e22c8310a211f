import { expect } from 'chai';
import { lastValueFrom, of, toArray } from 'rxjs';
import { timestepMI } from '../../operators/timestep-mi.js';
import type { MatrixEvent } from '../../streams/events.js';
import { FakeProbeModel, emptySnapshot, fakeProbeSet } from './fake-probe-model.js';

const matrixOf = async (op: ReturnType<typeof timestepMI>): Promise<MatrixEvent> => {
  const out = await lastValueFrom(of(emptySnapshot(4)).pipe(op, toArray()));
  expect(out).to.have.length(1);
  return out[0] as MatrixEvent;
};

describe('timestepMI', () => {
  it('is ≈ 0 between timesteps whose features are independent', async () => {
    // Noisy inputs and no class signal: each timestep's features are fresh noise.
    const m = await matrixOf(
      timestepMI({
        model: new FakeProbeModel(() => 0),
        probe: fakeProbeSet(300),
        timesteps: [0, 10, 20],
        input: 'noisy',
        components: 2,
      }),
    );
    expect(m.name).to.equal('mi/timesteps');
    expect([m.rows, m.cols]).to.deep.equal([3, 3]);
    expect(m.rowLabels).to.deep.equal(['t=0', 't=10', 't=20']);
    for (let i = 0; i < 3; i++) {
      expect(m.values[i * 3 + i]).to.equal(1);
      for (let j = 0; j < 3; j++) if (i !== j) expect(m.values[i * 3 + j]).to.be.below(0.1);
    }
    expect(m.values[1]).to.equal(m.values[3]);
  });

  it('is high between timesteps whose features are identical', async () => {
    // Clean inputs, constant signal: the same features at every t.
    const m = await matrixOf(
      timestepMI({
        model: new FakeProbeModel(() => 2),
        probe: fakeProbeSet(300),
        timesteps: [0, 10],
        components: 2,
      }),
    );
    expect(m.values[1]).to.be.above(0.95);
  });

  it('rejects bad options', () => {
    const model = new FakeProbeModel(() => 1);
    expect(() => timestepMI({ model, probe: fakeProbeSet(30), components: 0 })).to.throw(
      /timestepMI components must be a positive integer \(got 0\)/,
    );
    expect(() => timestepMI({ model, probe: fakeProbeSet(30), k: 30 })).to.throw(
      /timestepMI k must be an integer in \[1, 29\] \(got 30\)/,
    );
  });
});
