import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { selectBackend } from '../../../engine/backend/backend.js';
import {
  MlpDenoiser,
  mlpDenoiser,
  resolveMlpDenoiserConfig,
} from '../../../engine/models/mlp-denoiser.js';
import { molrg } from '../../../streams/molrg.js';

const data = molrg({ classes: 2, subspaceDim: 2, ambientDim: 8, noise: 0.3, count: 256, seed: 1 });
const tiny = { dim: 8, hidden: 32, embedDim: 8, T: 20 };

function batchOf(
  start: number,
  n: number,
): { images: Float32Array; labels: Float32Array; batch: number } {
  return {
    images: data.data.slice(start * 8, (start + n) * 8),
    labels: data.labels.slice(start, start + n),
    batch: n,
  };
}

describe('MlpDenoiser', () => {
  before(async () => {
    // The fast backend when it built; the pure-JS one otherwise.
    await selectBackend('native').catch(() => selectBackend('cpu'));
  });

  it('is a Model: kind, paramCount, step; training lowers the ε-prediction loss', () => {
    const m = mlpDenoiser({ ...tiny, lr: 3e-3, seed: 2 });
    try {
      expect(m.kind).to.equal('mlp-denoiser');
      // w1 8x32, t1 8x32, b1, w2 32x32, t2 8x32, b2, w3 32x8, b3
      expect(m.paramCount).to.equal(8 * 32 + 8 * 32 + 32 + 32 * 32 + 8 * 32 + 32 + 32 * 8 + 8);
      const losses: number[] = [];
      for (let s = 0; s < 150; s++) losses.push(m.trainStep(batchOf((s * 32) % 224, 32)));
      expect(m.step).to.equal(150);
      const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
      expect(mean(losses.slice(-20))).to.be.below(0.8 * mean(losses.slice(0, 20)));
    } finally {
      m.dispose();
    }
  });

  it('leaks no tensors in training, sampling, features, freeze and dispose', async () => {
    const before = tf.memory().numTensors;
    const m = new MlpDenoiser({ ...tiny, seed: 3 });
    m.trainStep(batchOf(0, 16));
    const during = tf.memory().numTensors;
    m.trainStep(batchOf(16, 16));
    expect(tf.memory().numTensors).to.equal(during);
    await m.sample(new Float32Array(5), { seed: 1, steps: 4 });
    await m.features(data.data.slice(0, 40), 3, { seed: 1 });
    const frozen = m.freeze();
    await frozen.features(data.data.slice(0, 40), 3, { seed: 1, noisy: false });
    frozen.dispose();
    expect(tf.memory().numTensors).to.equal(during);
    m.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('samples N = conditions/labelDim vectors and returns both hidden layers', async () => {
    const m = new MlpDenoiser({ ...tiny, seed: 4 });
    try {
      const out = await m.sample(new Float32Array(6), { seed: 1, steps: 5 });
      expect(out.images).to.have.length(6 * 8);
      expect(out.activations.layer2.dim).to.equal(32);
      expect(out.activations.layer2.data).to.have.length(6 * 32);
      expect(out.activations.layer1.data).to.have.length(6 * 32);
      const again = await m.sample(new Float32Array(6), { seed: 1, steps: 5 });
      expect([...again.images]).to.deep.equal([...out.images]);
    } finally {
      m.dispose();
    }
  });

  it("also returns both hidden layers at the last sampling step, the first step's with one step", async () => {
    const m = new MlpDenoiser({ ...tiny, seed: 4 });
    try {
      const out = await m.sample(new Float32Array(6), { seed: 1, steps: 5 });
      expect(Object.keys(out.activations)).to.deep.equal([
        'layer1',
        'layer2',
        'layer1-last',
        'layer2-last',
      ]);
      expect(out.activations['layer2-last'].data).to.have.length(6 * 32);
      expect([...out.activations['layer2-last'].data]).not.to.deep.equal([
        ...out.activations.layer2.data,
      ]);
      const one = await m.sample(new Float32Array(6), { seed: 1, steps: 1 });
      expect([...one.activations['layer2-last'].data]).to.deep.equal([
        ...one.activations.layer2.data,
      ]);
    } finally {
      m.dispose();
    }
  });

  it('gives features of clean inputs (timestep only) or inputs noised to t, reproducibly', async () => {
    const m = new MlpDenoiser({ ...tiny, seed: 5 });
    try {
      const x = data.data.slice(0, 10 * 8);
      const clean = await m.features(x, 10, { seed: 1, noisy: false });
      const clean2 = await m.features(x, 10, { seed: 99, noisy: false });
      expect([...clean.layer2.data]).to.deep.equal([...clean2.layer2.data]);
      const noisy = await m.features(x, 10, { seed: 1 });
      const noisyAgain = await m.features(x, 10, { seed: 1 });
      expect([...noisy.layer2.data]).to.deep.equal([...noisyAgain.layer2.data]);
      expect([...noisy.layer2.data]).not.to.deep.equal([...clean.layer2.data]);
      const otherT = await m.features(x, 2, { seed: 1, noisy: false });
      expect([...otherT.layer2.data]).not.to.deep.equal([...clean.layer2.data]);
      expect(clean.eps.dim).to.equal(8);
      await m.features(x, 20, { seed: 1 }).then(
        () => expect.fail('t = T accepted'),
        (err: Error) =>
          expect(err.message).to.match(
            /features t must be an integer timestep in \[0, 19\] \(got 20\)/,
          ),
      );
    } finally {
      m.dispose();
    }
  });

  it('freeze() keeps the weights of its step while training goes on', async () => {
    const m = new MlpDenoiser({ ...tiny, seed: 6, emaDecay: 0 });
    try {
      m.trainStep(batchOf(0, 16));
      const frozen = m.freeze();
      const x = data.data.slice(0, 16);
      const a = await frozen.features(x, 5, { seed: 1, noisy: false });
      for (let s = 0; s < 5; s++) m.trainStep(batchOf(16 * s, 16));
      const b = await frozen.features(x, 5, { seed: 1, noisy: false });
      const live = await m.features(x, 5, { seed: 1, noisy: false });
      expect([...b.layer2.data]).to.deep.equal([...a.layer2.data]);
      expect([...live.layer2.data]).not.to.deep.equal([...a.layer2.data]);
      expect(frozen.step).to.equal(1);
      frozen.dispose();
    } finally {
      m.dispose();
    }
  });

  it('save/load restores weights, EMA, Adam state and step: training continues identically', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pw-mlp-'));
    const a = new MlpDenoiser({ ...tiny, seed: 7 });
    const b = new MlpDenoiser({ ...tiny, seed: 8 });
    try {
      for (let s = 0; s < 3; s++) a.trainStep(batchOf(16 * s, 16));
      await a.save(dir);
      await b.load(dir);
      expect(b.step).to.equal(3);
      const x = data.data.slice(0, 24);
      const fa = await a.features(x, 4, { seed: 1, noisy: false });
      const fb = await b.features(x, 4, { seed: 1, noisy: false });
      expect([...fb.layer2.data]).to.deep.equal([...fa.layer2.data]);
      const wrong = new MlpDenoiser({ ...tiny, hidden: 16 });
      await wrong.load(dir).then(
        () => expect.fail('loaded into another architecture'),
        (err: Error) => expect(err.message).to.match(/different architecture/),
      );
      wrong.dispose();
    } finally {
      a.dispose();
      b.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad configs and batches with one-line errors naming the field', () => {
    expect(() => resolveMlpDenoiserConfig({ dim: 0 })).to.throw(
      /mlpDenoiser.dim must be an integer >= 1 \(got 0\)/,
    );
    expect(() => resolveMlpDenoiserConfig({ dim: 4, embedDim: 7 })).to.throw(
      /embedDim must be even \(got 7\)/,
    );
    expect(() => resolveMlpDenoiserConfig({ dim: 4, lr: 0 })).to.throw(
      /mlpDenoiser.lr must be a number in \(0, 1\]/,
    );
    expect(() => resolveMlpDenoiserConfig({ dim: 4, schedule: 'x' as 'cosine' })).to.throw(
      /schedule must be one of cosine, linear/,
    );
    const m = new MlpDenoiser({ ...tiny });
    try {
      expect(() =>
        m.trainStep({ images: new Float32Array(7), labels: new Float32Array(1), batch: 1 }),
      ).to.throw(/batch.images must hold batch\*8 = 8 values \(got 7\)/);
    } finally {
      m.dispose();
    }
    expect(resolveMlpDenoiserConfig({ dim: 4 }).hidden).to.equal(1024);
  });
});
