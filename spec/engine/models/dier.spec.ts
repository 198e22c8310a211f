import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { selectBackend } from '../../../engine/backend/backend.js';
import { dier } from '../../../engine/models/dier.js';
import { molrg } from '../../../streams/molrg.js';

const data = molrg({ classes: 2, subspaceDim: 2, ambientDim: 8, noise: 0.3, count: 256, seed: 1 });
const tiny = { dim: 8, hidden: 32, embedDim: 8, T: 20, encoderDim: 4, encoderHidden: 16 };
const batchOf = (start: number, n: number) => ({
  images: data.data.slice(start * 8, (start + n) * 8),
  labels: data.labels.slice(start, start + n),
  batch: n,
});

describe('dier', () => {
  before(async () => {
    await selectBackend('native').catch(() => selectBackend('cpu'));
  });

  it('is an MLP denoiser with a timestep-dependent encoder of the clean example', async () => {
    const m = dier({ ...tiny, seed: 2 });
    try {
      expect(m.kind).to.equal('dier-mlp');
      const plain = 8 * 32 + 8 * 32 + 32 + 32 * 32 + 8 * 32 + 32 + 32 * 8 + 8;
      const encoder = 8 * 16 + 8 * 16 + 16 + 16 * 4 + 4 + 4 * 32 + 4 * 32;
      expect(m.paramCount).to.equal(plain + encoder);
      const x = data.data.slice(0, 10 * 8);
      const clean = await m.features(x, 5, { seed: 1, noisy: false });
      const noisy = await m.features(x, 5, { seed: 1 });
      expect(clean.encoder.dim).to.equal(4);
      expect(clean.encoder.data).to.have.length(40);
      // The encoder reads the clean example whatever the denoiser's input is…
      expect([...noisy.encoder.data]).to.deep.equal([...clean.encoder.data]);
      expect([...noisy.layer2.data]).not.to.deep.equal([...clean.layer2.data]);
      // …and the timestep.
      const other = await m.features(x, 15, { seed: 1, noisy: false });
      expect([...other.encoder.data]).not.to.deep.equal([...clean.encoder.data]);
    } finally {
      m.dispose();
    }
  });

  it('trains jointly (loss falls), samples with a zero code, and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const m = dier({ ...tiny, seed: 3, lr: 3e-3 });
    const losses: number[] = [];
    for (let s = 0; s < 150; s++) losses.push(m.trainStep(batchOf((s * 32) % 224, 32)));
    const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(losses.slice(-20))).to.be.below(0.8 * mean(losses.slice(0, 20)));
    const out = await m.sample(new Float32Array(3), { seed: 1, steps: 4 });
    expect(out.images).to.have.length(24);
    m.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('rejects a bad encoder width', () => {
    expect(() => dier({ dim: 8, encoderDim: -1 })).to.throw(
      /mlpDenoiser.encoderDim must be an integer >= 0 \(got -1\)/,
    );
  });
});
