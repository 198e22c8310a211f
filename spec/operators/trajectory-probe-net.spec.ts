import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { selectBackend } from '../../engine/backend/backend.js';
import { fitTrajectoryProbe } from '../../operators/trajectory-probe-net.js';
import { mulberry32 } from '../../streams/mulberry32.js';

/** n sequences of L steps of D features; the class shows (+3 on feature `class`) only at step `at`. */
function sequences(
  n: number,
  L: number,
  D: number,
  at: number,
  seed: number,
): { x: Float32Array; y: Int32Array } {
  const r = mulberry32(seed);
  const x = new Float32Array(n * L * D);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    for (let c = 0; c < L * D; c++)
      x[i * L * D + c] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    x[(i * L + at) * D + y[i]] += 3;
  }
  return { x, y };
}

describe('fitTrajectoryProbe', () => {
  before(async () => {
    await selectBackend('native').catch(() => selectBackend('cpu'));
  });

  it('GRU and attention heads find a class shown at one step; attention looks there', async () => {
    const before = tf.memory().numTensors;
    const tr = sequences(240, 4, 5, 2, 1);
    const te = sequences(90, 4, 5, 2, 2);
    const gru = await fitTrajectoryProbe(tr.x, tr.y, te.x, te.y, 4, 5, {
      kind: 'gru',
      classes: 3,
      iterations: 80,
      seed: 1,
    });
    expect(gru.accuracy).to.be.above(0.8);
    const att = await fitTrajectoryProbe(tr.x, tr.y, te.x, te.y, 4, 5, {
      kind: 'attention',
      classes: 3,
      iterations: 80,
      seed: 1,
    });
    expect(att.accuracy).to.be.above(0.8);
    expect(att.attention).to.have.length(4);
    expect(att.attention!.reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-5);
    expect(att.attention!.indexOf(Math.max(...att.attention!))).to.equal(2);
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('an MLP finds the class on one step and is at chance on random labels; bad input is rejected', async () => {
    const tr = sequences(240, 1, 5, 0, 3);
    const te = sequences(90, 1, 5, 0, 4);
    const noise = sequences(240, 1, 5, 0, 5);
    const ok = await fitTrajectoryProbe(tr.x, tr.y, te.x, te.y, 1, 5, {
      kind: 'mlp',
      classes: 3,
      iterations: 100,
    });
    expect(ok.accuracy).to.be.above(0.8);
    const r = mulberry32(6);
    const random = (n: number): Int32Array =>
      Int32Array.from({ length: n }, () => Math.floor(r() * 3));
    const chance = await fitTrajectoryProbe(noise.x, random(240), te.x, random(90), 1, 5, {
      kind: 'mlp',
      classes: 3,
      iterations: 100,
    });
    expect(chance.accuracy).to.be.below(0.5);
    await fitTrajectoryProbe(tr.x, tr.y, te.x, te.y, 2, 5, { kind: 'mlp', classes: 3 }).then(
      () => expect.fail('accepted'),
      (e: Error) => expect(e.message).to.match(/an mlp probe takes one timestep \(got L = 2\)/),
    );
  });
});
