import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { selectBackend } from '../../../engine/backend/backend.js';
import { Diva, diva, resolveDivaConfig } from '../../../engine/models/diva.js';
import type { DivaConfig } from '../../../engine/models/diva.js';
import { createEncoder, guidanceScore, logPosterior } from '../../../engine/models/diva/encoder.js';
import type { EncoderConfig } from '../../../engine/models/diva/encoder.js';
import { makeSchedule } from '../../../engine/models/schedule.js';
import { createUnet, unetApply } from '../../../engine/models/unet.js';
import { createRng } from '../../../streams/random.js';
import { disks } from '../../../streams/disks.js';

const S = 8;
const tiny: Partial<DivaConfig> = {
  size: S,
  widths: [4, 8, 8],
  groups: 2,
  encDim: 8,
  condHidden: 8,
  T: 10,
  encoderChannels: [4, 4],
  latentDim: 3,
  seed: 3,
};

function batchOf(
  n: number,
  seed = 1,
): { images: Float32Array; labels: Float32Array; batch: number } {
  const d = disks({ size: S, count: n, seed, radius: 2 });
  const images = new Float32Array(n * S * S);
  for (let i = 0; i < n; i++) images.set(d.image(i), i * S * S);
  return { images, labels: d.labels, batch: n };
}

describe('Diva', () => {
  let dir = '';
  before(async () => {
    await selectBackend('cpu');
    dir = await mkdtemp(path.join(os.tmpdir(), 'phasewatch-diva-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('rejects a bad config with a one-line error naming the field', () => {
    expect(() => resolveDivaConfig({ beta: -1 })).to.throw(/^diva\.beta must be .* \(got -1\)$/);
    expect(() => resolveDivaConfig({ latentDim: 0 })).to.throw(/diva\.latentDim/);
    expect(() =>
      resolveDivaConfig({ encoderChannels: [4] as unknown as [number, number] }),
    ).to.throw(/diva\.encoderChannels/);
    expect(() => resolveDivaConfig({ guidanceWeight: Number.NaN })).to.throw(
      /diva\.guidanceWeight/,
    );
    expect(() => resolveDivaConfig({ size: 12 })).to.throw(/unet\.size/);
  });

  it('takes the noise level as a second input channel when asked, the score still exact', () => {
    const before = tf.memory().numTensors;
    const ec: EncoderConfig = {
      size: S,
      channels: [4, 4],
      latentDim: 3,
      sigmaFloor: 1e-3,
      noiseInput: true,
    };
    const W = createEncoder(ec, 7);
    expect(W['enc.conv1.w'].shape).to.deep.equal([3, 3, 2, 4]);
    const rng = createRng(6);
    const xv = rng.normals(2 * S * S);
    const x = tf.tensor4d(xv, [2, S, S, 1]);
    const z = tf.tensor2d(rng.normals(6), [2, 3]);
    const levels = tf.tensor1d([0.2, 0.9]);
    const lp = (v: Float32Array, lv: number | tf.Tensor1D): number[] =>
      tf.tidy(() =>
        Array.from(logPosterior(ec, W, tf.tensor4d(v, [2, S, S, 1]), z, lv).dataSync()),
      );
    // The level changes the posterior; a [B] tensor of levels acts per example.
    expect(lp(xv, 0)[0]).to.not.be.closeTo(lp(xv, 0.9)[0], 1e-6);
    expect(lp(xv, levels)[0]).to.be.closeTo(lp(xv, 0.2)[0], 1e-5);
    expect(lp(xv, levels)[1]).to.be.closeTo(lp(xv, 0.9)[1], 1e-5);
    const gt = guidanceScore(ec, W, x, z, levels);
    const g = gt.dataSync();
    const h = 1e-2;
    for (const i of [5, 21, 64 + 12, 64 + 50]) {
      const up = Float32Array.from(xv);
      const down = Float32Array.from(xv);
      up[i] += h;
      down[i] -= h;
      const e = Math.floor(i / (S * S));
      const fd = (lp(up, levels)[e] - lp(down, levels)[e]) / (2 * h);
      expect(g[i]).to.be.closeTo(fd, 2e-2 * Math.max(1, Math.abs(fd)));
    }
    tf.dispose([x, z, levels, gt, ...Object.values(W)]);
    expect(tf.memory().numTensors).to.equal(before);
    const m = diva({ ...tiny, encoderNoiseLevel: true });
    const b = batchOf(4);
    m.trainStep(b);
    const n = tf.memory().numTensors;
    m.trainStep(b);
    expect(tf.memory().numTensors).to.equal(n);
    expect(m.lastTerms?.loss).to.satisfy(Number.isFinite);
    m.dispose();
    expect(() => resolveDivaConfig({ encoderNoiseLevel: 1 as unknown as boolean })).to.throw(
      /diva\.encoderNoiseLevel must be true or false \(got 1\)/,
    );
  });

  it('computes the guidance score ∇ₓ log q(z | x) as finite differences do', () => {
    const before = tf.memory().numTensors;
    const ec: EncoderConfig = { size: S, channels: [4, 4], latentDim: 3, sigmaFloor: 1e-3 };
    const W = createEncoder(ec, 7);
    const rng = createRng(5);
    const xv = rng.normals(2 * S * S);
    const zv = rng.normals(2 * 3);
    const x = tf.tensor4d(xv, [2, S, S, 1]);
    const z = tf.tensor2d(zv, [2, 3]);
    const gt = guidanceScore(ec, W, x, z);
    const g = gt.dataSync();
    const f = (v: Float32Array): number[] =>
      tf.tidy(() => Array.from(logPosterior(ec, W, tf.tensor4d(v, [2, S, S, 1]), z).dataSync()));
    const h = 1e-2;
    let checked = 0;
    for (const i of [3, 17, 40, 63, 64 + 9, 64 + 30, 64 + 55]) {
      const up = Float32Array.from(xv);
      const down = Float32Array.from(xv);
      up[i] += h;
      down[i] -= h;
      const example = Math.floor(i / (S * S));
      const fd = (f(up)[example] - f(down)[example]) / (2 * h);
      expect(g[i]).to.be.closeTo(fd, 2e-2 * Math.max(1, Math.abs(fd)));
      // The other example's log q does not depend on this pixel.
      expect(f(up)[1 - example]).to.be.closeTo(f(down)[1 - example], 1e-4);
      checked++;
    }
    expect(checked).to.equal(7);
    expect(Array.from(g).some((v) => Math.abs(v) > 1e-3)).to.equal(true);
    tf.dispose([x, z, gt, ...Object.values(W)]);
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('reduces to the plain DDPM loss when the guidance weight and β are 0', () => {
    const m = diva({ ...tiny, guidanceWeight: 0, beta: 0 });
    const b = batchOf(4);
    const draws = m.drawTerms(4);
    const terms = m.lossTerms(b, draws);
    // The same UNet (same config and seed), applied unconditionally by hand.
    const unet = createUnet(
      { size: S, widths: [4, 8, 8], groups: 2, encDim: 8, condHidden: 8, T: 10 },
      3,
    );
    const ab = makeSchedule({ kind: m.config.schedule, T: 10 }).alphaBars;
    const expected = tf.tidy(() => {
      const x0 = tf.tensor4d(b.images, [4, S, S, 1]);
      const eps = tf.tensor4d(draws.noise, [4, S, S, 1]);
      const a = tf.tensor4d(
        Array.from(draws.t, (t) => Math.sqrt(ab[t])),
        [4, 1, 1, 1],
      );
      const s = tf.tensor4d(
        Array.from(draws.t, (t) => Math.sqrt(1 - ab[t])),
        [4, 1, 1, 1],
      );
      const xt = tf.add(tf.mul(x0, a), tf.mul(eps, s)) as tf.Tensor4D;
      const pred = unetApply(unet, xt, tf.tensor1d(Array.from(draws.t)), tf.zeros([4, 2])).eps;
      return tf.losses.meanSquaredError(eps, pred).dataSync()[0];
    });
    expect(terms.loss).to.be.closeTo(expected, 1e-6);
    expect(terms.mse).to.equal(terms.loss);
    // With guidance the residual changes: the encoder shapes the loss.
    const guided = diva({ ...tiny, guidanceWeight: 1, beta: 0 });
    expect(guided.lossTerms(b, draws).loss).to.not.be.closeTo(expected, 1e-6);
    tf.dispose(Object.values(unet.weights));
    m.dispose();
    guided.dispose();
  });

  it('trains the encoder through the guidance score (a second-order gradient), not without it', async () => {
    const b = batchOf(4);
    const probe = batchOf(3, 9).images;
    const moved = async (w: number): Promise<number> => {
      const m = diva({ ...tiny, guidanceWeight: w, beta: 0, emaDecay: 0 });
      const before = (await m.encode(probe)).mu;
      m.trainStep(b);
      const after = (await m.encode(probe)).mu;
      m.dispose();
      return Math.max(...before.map((v, i) => Math.abs(v - after[i])));
    };
    expect(await moved(0)).to.equal(0);
    expect(await moved(1)).to.be.greaterThan(1e-5);
  });

  it('adds β·KL per pixel to the loss', () => {
    const b = batchOf(4);
    const m0 = diva({ ...tiny, beta: 0 });
    const m1 = diva({ ...tiny, beta: 2 });
    const draws = m0.drawTerms(4);
    const t0 = m0.lossTerms(b, draws);
    const t1 = m1.lossTerms(b, draws);
    expect(t1.kl).to.be.greaterThan(0);
    expect(t1.loss).to.be.closeTo(t0.loss + (2 * t1.kl) / (S * S), 1e-5);
    m0.dispose();
    m1.dispose();
  });

  it('anneals β exponentially from β·1e-4 over klWarmup steps', () => {
    const m = diva({ ...tiny, beta: 2, klWarmup: 100 });
    expect(m.betaAt(0)).to.be.closeTo(2e-4, 1e-12);
    expect(m.betaAt(50)).to.be.closeTo(2e-2, 1e-10);
    expect(m.betaAt(100)).to.equal(2);
    expect(m.betaAt(500)).to.equal(2);
    const b = batchOf(4);
    const draws = m.drawTerms(4);
    const t = m.lossTerms(b, draws);
    expect(t.beta).to.be.closeTo(2e-4, 1e-12);
    expect(t.loss).to.be.closeTo(t.mse + (2e-4 * t.kl) / (S * S), 1e-6);
    expect(() => resolveDivaConfig({ klWarmup: -1 })).to.throw(/diva\.klWarmup/);
    m.dispose();
  });

  it('lowers the loss on a fixed batch and keeps the tensor count per step', () => {
    const m = diva({ ...tiny, lr: 3e-3 });
    const b = batchOf(16);
    m.trainStep(b); // the first step creates Adam's moments
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let i = 0; i < 14; i++) losses.push(m.trainStep(b));
    expect(tf.memory().numTensors).to.equal(before);
    const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(losses.slice(-4))).to.be.lessThan(mean(losses.slice(0, 4)));
    expect(m.step).to.equal(15);
    expect(m.lastTerms?.loss).to.equal(losses[losses.length - 1]);
    m.dispose();
  });

  it('samples per Algorithm 1 from guide images, deterministically, without leaking', async () => {
    const m = diva({ ...tiny });
    const guides = batchOf(3, 4).images;
    const before = tf.memory().numTensors;
    const a = await m.sample(guides, { seed: 2, steps: 3 });
    const b = await m.sample(guides, { seed: 2, steps: 3, chunk: 2 });
    const c = await m.sample(guides, { seed: 2, method: 'ddpm' });
    const u = await m.generate(null, 2, { seed: 1, steps: 2 });
    const f = await m.features(guides, 5, { seed: 1 });
    const frozen = m.freeze();
    await frozen.sample(guides, { seed: 2, steps: 2 });
    frozen.dispose();
    expect(tf.memory().numTensors).to.equal(before);
    expect(a.images.length).to.equal(3 * S * S);
    expect(Array.from(a.images)).to.deep.equal(Array.from(b.images));
    expect(a.activations.z.dim).to.equal(3);
    expect(a.activations.z.data.length).to.equal(9);
    expect(a.activations.mu.data.length).to.equal(9);
    expect(c.images.every(Number.isFinite)).to.equal(true);
    expect(Math.max(...a.images)).to.be.at.most(1);
    expect(u.images.length).to.equal(2 * S * S);
    expect(f.mu.data.length).to.equal(9);
    expect(f.sigma.data.every((s) => s > 0)).to.equal(true);
    // A different guide strength changes the samples; guidance 0 ignores z.
    const strong = await m.sample(guides, { seed: 2, steps: 3, guidance: 5 });
    expect(Array.from(strong.images)).to.not.deep.equal(Array.from(a.images));
    await frozen.encode(guides).then(
      () => expect.fail('should reject'),
      (e: Error) => expect(e.message).to.match(/disposed/),
    );
    await m.sample(new Float32Array(5), { seed: 1 }).then(
      () => expect.fail('should reject'),
      (e: Error) =>
        expect(e.message).to.match(
          /conditions \(guide images\) must be a Float32Array of N\*64 values \(got 5\)/,
        ),
    );
    m.dispose();
  });

  it('samples as Algorithm 1 writes it: the DDPM sampler shifted by w·√β_t·g', async () => {
    const m = diva({ ...tiny, T: 6 });
    const guides = batchOf(2, 4).images;
    const before = tf.memory().numTensors;
    const plain = await m.sample(guides, { seed: 3, method: 'ddpm', guidance: 0 });
    const alg0 = await m.sample(guides, { seed: 3, method: 'algorithm1', guidance: 0 });
    const alg = await m.sample(guides, { seed: 3, method: 'algorithm1', guidance: 1 });
    const eq8 = await m.sample(guides, { seed: 3, method: 'ddpm', guidance: 1 });
    expect(tf.memory().numTensors).to.equal(before);
    expect(Array.from(alg0.images)).to.deep.equal(Array.from(plain.images));
    expect(Array.from(alg.images)).to.not.deep.equal(Array.from(plain.images));
    expect(Array.from(alg.images)).to.not.deep.equal(Array.from(eq8.images));
    expect(alg.images.every(Number.isFinite)).to.equal(true);
    await m.sample(guides, { seed: 3, method: 'x' as 'ddpm' }).then(
      () => expect.fail('should reject'),
      (e: Error) => expect(e.message).to.match(/one of ddim, ddpm, algorithm1 \(got "x"\)/),
    );
    m.dispose();
  });

  it('measures the guided and unguided noise-estimate error, equal without guidance', async () => {
    const guides = batchOf(3, 4).images;
    const off = diva({ ...tiny, guidanceWeight: 0 });
    const on = diva({ ...tiny, guidanceWeight: 1 });
    const before = tf.memory().numTensors;
    const frozenOff = off.freeze();
    const a = await frozenOff.denoiseMse(guides, [0.25, 0.75], 1);
    frozenOff.dispose();
    const frozen = on.freeze();
    const b = await frozen.denoiseMse(guides, [0.5], 1);
    frozen.dispose();
    expect(tf.memory().numTensors).to.equal(before);
    expect(a.guided).to.equal(a.unguided);
    expect(a.unguided).to.be.greaterThan(0);
    expect(b.guided).to.not.equal(b.unguided);
    off.dispose();
    on.dispose();
  });

  it('saves and loads weights, EMA, Adam state and step', async () => {
    const b = batchOf(4);
    const m = diva({ ...tiny, seed: 11 });
    m.trainStep(b);
    m.trainStep(b);
    await m.save(dir);
    const probe = batchOf(2, 8).images;
    const want = await m.encode(probe);
    const next = [m.trainStep(b), m.trainStep(b)];
    const n = new Diva({ ...tiny, seed: 11 });
    for (let i = 0; i < 3; i++) n.trainStep(batchOf(4, 7)); // weights and Adam moments elsewhere
    await n.load(dir);
    expect(n.step).to.equal(2);
    expect(Array.from((await n.encode(probe)).mu)).to.deep.equal(Array.from(want.mu));
    // The second step depends on the restored Adam moments.
    expect(n.trainStep(b)).to.be.closeTo(next[0], 1e-6);
    expect(n.trainStep(b)).to.be.closeTo(next[1], 1e-6);
    const other = diva({ ...tiny, latentDim: 2 });
    await other.load(dir).then(
      () => expect.fail('should reject'),
      (e: Error) => expect(e.message).to.match(/different architecture/),
    );
    m.dispose();
    n.dispose();
    other.dispose();
  });

  it('moves the encoder at its own learning rate, and saves and restores both optimisers', async () => {
    const b = batchOf(4);
    const probe = batchOf(2, 8).images;
    const encoderMove = async (cfg: Partial<DivaConfig>): Promise<number> => {
      const m = diva({ ...tiny, seed: 12, emaDecay: 0, ...cfg });
      const mu0 = (await m.encode(probe)).mu;
      m.trainStep(b);
      const mu1 = (await m.encode(probe)).mu;
      m.dispose();
      return mu1.reduce((s, v, i) => s + Math.abs(v - mu0[i]), 0);
    };
    // Adam's first step moves every weight by about its learning rate.
    const same = await encoderMove({ lr: 1e-3 });
    expect(await encoderMove({ lr: 1e-3, encoderLr: 1e-3 })).to.be.closeTo(same, 1e-6 * same);
    expect(await encoderMove({ lr: 1e-3, encoderLr: 1e-2 })).to.be.greaterThan(5 * same);
    const m = diva({ ...tiny, seed: 13, encoderLr: 5e-3 });
    m.trainStep(b);
    const before = tf.memory().numTensors;
    m.trainStep(b);
    expect(tf.memory().numTensors).to.equal(before);
    await m.save(dir);
    const next = [m.trainStep(b), m.trainStep(b)];
    const n = diva({ ...tiny, seed: 13, encoderLr: 5e-3 });
    for (let i = 0; i < 2; i++) n.trainStep(batchOf(4, 7));
    await n.load(dir);
    expect(n.trainStep(b)).to.be.closeTo(next[0], 1e-6);
    expect(n.trainStep(b)).to.be.closeTo(next[1], 1e-6);
    m.dispose();
    n.dispose();
    expect(() => resolveDivaConfig({ encoderLr: 0 })).to.throw(
      /diva\.encoderLr must be null or a number in \(0, 1\] \(got 0\)/,
    );
  });

  it('trains only the inference network on top of a frozen pre-trained denoiser', async () => {
    const b = batchOf(8);
    const pre = diva({ ...tiny, guidanceWeight: 0, beta: 0, seed: 5 });
    for (let i = 0; i < 3; i++) pre.trainStep(b);
    await pre.save(dir);
    const unguided = await pre.generate(null, 2, { seed: 4, steps: 2 });
    const m = diva({ ...tiny, freezeDenoiser: true, seed: 6, emaDecay: 0 });
    await m.loadDenoiser(dir);
    expect(Array.from((await m.generate(null, 2, { seed: 4, steps: 2 })).images)).to.deep.equal(
      Array.from(unguided.images),
    );
    const probe = batchOf(2, 8).images;
    const mu0 = (await m.encode(probe)).mu;
    for (let i = 0; i < 2; i++) m.trainStep(b);
    // The denoiser did not move; the encoder did.
    expect(Array.from((await m.generate(null, 2, { seed: 4, steps: 2 })).images)).to.deep.equal(
      Array.from(unguided.images),
    );
    const mu1 = (await m.encode(probe)).mu;
    expect(Array.from(mu1)).to.not.deep.equal(Array.from(mu0));
    const wide = diva({ ...tiny, widths: [8, 8, 8] });
    await wide.loadDenoiser(dir).then(
      () => expect.fail('should reject'),
      (e: Error) => expect(e.message).to.match(/has shape/),
    );
    pre.dispose();
    m.dispose();
    wide.dispose();
  });

  it('pretrains the denoiser alone as a plain DDPM, then trains DiVA (frozen: the encoder only)', async () => {
    const b = batchOf(4, 2);
    const probe = batchOf(2, 8).images;
    const unetOut = async (m: Diva): Promise<number[]> =>
      Array.from((await m.generate(null, 2, { seed: 4, steps: 2 })).images);
    for (const freezeDenoiser of [false, true]) {
      const m = diva({ ...tiny, pretrainSteps: 3, freezeDenoiser, beta: 1, emaDecay: 0 });
      m.trainStep(b);
      const mu0 = Array.from((await m.encode(probe)).mu);
      const u0 = await unetOut(m);
      // While pretraining the loss is the DDPM loss: no guidance term, no KL weight.
      const plain = diva({ ...tiny, guidanceWeight: 0, beta: 0 });
      await m.save(dir);
      await plain.load(dir);
      expect(m.lossTerms(b, m.drawTerms(4)).loss).to.equal(plain.lossTerms(b, m.drawTerms(4)).loss);
      expect(m.betaAt(2)).to.equal(0);
      expect(m.betaAt(3)).to.equal(1);
      plain.dispose();
      for (let i = 0; i < 2; i++) m.trainStep(b);
      const u1 = await unetOut(m);
      expect(u1).to.not.deep.equal(u0);
      expect(Array.from((await m.encode(probe)).mu)).to.deep.equal(mu0);
      m.trainStep(b); // the encoder's first step creates its Adam moments
      const before = tf.memory().numTensors;
      m.trainStep(b);
      expect(Array.from((await m.encode(probe)).mu)).to.not.deep.equal(mu0);
      if (freezeDenoiser) expect(await unetOut(m)).to.deep.equal(u1);
      else expect(await unetOut(m)).to.not.deep.equal(u1);
      expect(tf.memory().numTensors).to.equal(before);
      m.dispose();
    }
    expect(() => resolveDivaConfig({ pretrainSteps: -1 })).to.throw(
      /diva\.pretrainSteps must be a non-negative integer of steps \(got -1\)/,
    );
  });
});
