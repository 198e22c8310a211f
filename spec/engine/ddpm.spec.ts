import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { selectBackend } from '../../engine/backend.js';
import { Ddpm, createDdpm, ddimTimes, resolveDdpmConfig } from '../../engine/ddpm.js';

const S = 16;
const tiny = {
  size: S,
  widths: [4, 8, 8] as [number, number, number],
  encDim: 8,
  condHidden: 16,
  T: 20,
};

/** A batch of Gaussian bumps in [-1, 1] at the given centres. */
function bumps(centres: number[]): { images: Float32Array; labels: Float32Array; batch: number } {
  const batch = centres.length / 2;
  const images = new Float32Array(batch * S * S);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < S; r++) {
      for (let c = 0; c < S; c++) {
        const d2 = (c - centres[2 * b]) ** 2 + (r - centres[2 * b + 1]) ** 2;
        images[b * S * S + r * S + c] = 2 * Math.exp(-d2 / 2) - 1;
      }
    }
  }
  return { images, labels: Float32Array.from(centres), batch };
}

describe('Ddpm', () => {
  let dir = '';
  before(async () => {
    await selectBackend('cpu');
    dir = await mkdtemp(path.join(os.tmpdir(), 'phasewatch-ddpm-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lowers the loss on a fixed batch over a few steps', () => {
    const m = new Ddpm({ ...tiny, lr: 3e-3, seed: 1 });
    const { images, labels, batch } = bumps([3, 4, 8, 8, 12, 5, 6, 11, 10, 2, 4, 12, 13, 13, 7, 3]);
    const losses: number[] = [];
    for (let i = 0; i < 12; i++) losses.push(m.trainStep(images, labels, batch));
    m.dispose();
    const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(losses.slice(-4))).to.be.lessThan(mean(losses.slice(0, 4)));
    expect(m.step).to.equal(12);
  });

  it('keeps the tensor count unchanged by a training step', () => {
    const m = createDdpm({ ...tiny });
    const { images, labels, batch } = bumps([3, 4, 8, 8]);
    m.trainStep(images, labels, batch); // first step creates Adam's moment slots
    const before = tf.memory().numTensors;
    const loss = m.trainStep(images, labels, batch);
    expect(tf.memory().numTensors).to.equal(before);
    expect(loss).to.be.a('number').and.to.satisfy(Number.isFinite);
    m.dispose();
  });

  it('samples images and first-step layer-4 activations without leaking tensors', async () => {
    const m = new Ddpm({ ...tiny });
    const labels = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const before = tf.memory().numTensors;
    const out = await m.sample({ labels, steps: 4, seed: 3, chunk: 2 });
    expect(tf.memory().numTensors).to.equal(before);
    expect(out.dim).to.equal(4 * 4 * 8);
    expect(out.images.length).to.equal(5 * S * S);
    expect(out.activations.length).to.equal(5 * out.dim);
    expect(Math.max(...out.images)).to.be.at.most(1);
    expect(Math.min(...out.images)).to.be.at.least(-1);
    expect(out.activations.some((v) => v !== 0)).to.equal(true);
    const ddpm = await m.sample({ labels, method: 'ddpm', seed: 3 });
    expect(tf.memory().numTensors).to.equal(before);
    expect(ddpm.images.every(Number.isFinite)).to.equal(true);
    m.dispose();
  });

  it('samples deterministically for a given seed', async () => {
    const m = new Ddpm({ ...tiny });
    const labels = Float32Array.from([4, 4, 9, 2, 12, 12]);
    const a = await m.sample({ labels, steps: 3, seed: 7 });
    const b = await m.sample({ labels, steps: 3, seed: 7 });
    const c = await m.sample({ labels, steps: 3, seed: 8 });
    expect(Array.from(b.images)).to.deep.equal(Array.from(a.images));
    expect(Array.from(b.activations)).to.deep.equal(Array.from(a.activations));
    expect(Array.from(c.images)).not.to.deep.equal(Array.from(a.images));
    m.dispose();
  });

  it('round-trips weights, EMA, Adam state and step count through save/load', async () => {
    const { images, labels, batch } = bumps([3, 4, 8, 8, 12, 5, 6, 11]);
    const a = new Ddpm({ ...tiny, seed: 1 });
    for (let i = 0; i < 3; i++) a.trainStep(images, labels, batch);
    await a.save(dir);
    const b = new Ddpm({ ...tiny, seed: 2 });
    await b.load(dir);
    expect(b.step).to.equal(3);
    const sa = await a.sample({ labels, steps: 3, seed: 5 });
    const sb = await b.sample({ labels, steps: 3, seed: 5 });
    expect(Array.from(sb.images)).to.deep.equal(Array.from(sa.images));
    // Same Adam state: with identical weights a further step moves both identically.
    const before = tf.memory().numTensors;
    await b.load(dir);
    expect(tf.memory().numTensors).to.equal(before);
    a.dispose();
    b.dispose();
  });

  it('refuses to load a different architecture', async () => {
    const a = new Ddpm({ ...tiny });
    await a.save(dir);
    const b = new Ddpm({ ...tiny, widths: [4, 8, 16] });
    let message = '';
    try {
      await b.load(dir);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.match(/has a different architecture than this model$/);
    a.dispose();
    b.dispose();
  });

  it('exposes config and paramCount and validates fields', () => {
    const m = new Ddpm({ ...tiny });
    expect(m.config.lr).to.equal(1e-3);
    expect(m.config.emaDecay).to.equal(0.99);
    expect(m.paramCount).to.be.greaterThan(0);
    m.dispose();
    expect(() => resolveDdpmConfig({ lr: 0 })).to.throw(
      /^ddpm\.lr must be a number in \(0, 1\] \(got 0\)$/,
    );
    expect(() => resolveDdpmConfig({ emaDecay: 1 })).to.throw(/^ddpm\.emaDecay/);
  });

  it('spaces DDIM timesteps from T-1 down to 0', () => {
    expect(ddimTimes(100, 20)[0]).to.equal(99);
    expect(ddimTimes(100, 20).at(-1)).to.equal(0);
    expect(ddimTimes(100, 20)).to.have.length(20);
    expect(ddimTimes(10, 1)).to.deep.equal([9]);
  });
});
