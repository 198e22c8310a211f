import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { selectBackend } from '../../../engine/backend/backend.js';
import { Ddpm, createDdpm, ddimTimes, resolveDdpmConfig } from '../../../engine/models/ddpm.js';
import { loadNativeAddon } from '../../../engine/backend/native/addon.js';
import { registerNativeBackend } from '../../../engine/backend/native/backend.js';

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

describe('Ddpm on the native backend (fused Adam + EMA)', function () {
  this.timeout(60000);
  let dir = '';
  let threads = 0;
  before(async function () {
    if (!registerNativeBackend()) this.skip();
    // With two threads the native kernels sum in a run-dependent order, and Adam's first steps
    // (≈ lr·sign(g)) blow that noise up for near-zero gradients; one thread is reproducible.
    threads = loadNativeAddon()?.threads() ?? 0;
    loadNativeAddon()?.threads(1);
    dir = await mkdtemp(path.join(os.tmpdir(), 'phasewatch-ddpm-native-'));
  });
  after(async () => {
    if (threads > 0) loadNativeAddon()?.threads(threads);
    await selectBackend('cpu');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const data = bumps([3, 4, 8, 8, 12, 5, 6, 11, 10, 2, 4, 12]);

  /** The tensors of the checkpoint in `at`, by group and name. */
  async function read(at: string): Promise<Map<string, Float32Array>> {
    const manifest = JSON.parse(await readFile(path.join(at, 'model.json'), 'utf8')) as {
      tensors: { name: string; group: string; shape: number[]; offset: number }[];
    };
    const bytes = await readFile(path.join(at, 'weights.bin'));
    const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const out = new Map<string, Float32Array>();
    for (const t of manifest.tensors) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      out.set(`${t.group}:${t.name}`, all.slice(t.offset, t.offset + n));
    }
    return out;
  }

  /** Saves `m` under `name` and reads the checkpoint back. */
  async function checkpoint(m: Ddpm, name: string): Promise<Map<string, Float32Array>> {
    await m.save(path.join(dir, name));
    return read(path.join(dir, name));
  }

  /** Every tensor of `a` equals b's within `tol` of b's largest magnitude. */
  function expectClose(a: Map<string, Float32Array>, b: Map<string, Float32Array>, tol = 1e-4) {
    expect([...a.keys()]).to.deep.equal([...b.keys()]);
    for (const [key, x] of a) {
      const y = b.get(key) as Float32Array;
      expect(x.length, key).to.equal(y.length);
      let scale = 0;
      let err = 0;
      for (let i = 0; i < y.length; i++) {
        scale = Math.max(scale, Math.abs(y[i]));
        err = Math.max(err, Math.abs(x[i] - y[i]));
      }
      expect(err / Math.max(scale, 1e-6), `${key} relative error`).to.be.at.most(tol);
    }
  }

  async function trainOn(
    backend: string,
    steps: number,
    from?: string,
  ): Promise<{ model: Ddpm; losses: number[] }> {
    await selectBackend(backend);
    const model = new Ddpm({ ...tiny, lr: 3e-3, seed: 4 });
    if (from) await model.load(path.join(dir, from));
    const losses: number[] = [];
    for (let i = 0; i < steps; i++)
      losses.push(model.trainStep(data.images, data.labels, data.batch));
    return { model, losses };
  }

  it('gives the losses, weights and EMA of cpu over 5 steps', async () => {
    const cpu = await trainOn('cpu', 5);
    const cpuState = await checkpoint(cpu.model, 'cpu5');
    const native = await trainOn('native', 5);
    const nativeState = await checkpoint(native.model, 'native5');
    native.losses.forEach((l, i) =>
      expect(Math.abs(l - cpu.losses[i]) / Math.abs(cpu.losses[i]), `loss ${i}`).to.be.at.most(
        1e-4,
      ),
    );
    const keep = (s: Map<string, Float32Array>, group: string): Map<string, Float32Array> =>
      new Map([...s].filter(([k]) => k.startsWith(`${group}:`)));
    for (const group of ['param', 'ema']) {
      expectClose(keep(nativeState, group), keep(cpuState, group));
    }
    expect(keep(nativeState, 'adam').size).to.equal(keep(cpuState, 'adam').size);
    cpu.model.dispose();
    native.model.dispose();
  });

  it('keeps the tensor count unchanged by a training step', async () => {
    await selectBackend('native');
    const m = new Ddpm({ ...tiny });
    m.trainStep(data.images, data.labels, data.batch); // creates the moments
    const before = tf.memory().numTensors;
    m.trainStep(data.images, data.labels, data.batch);
    expect(tf.memory().numTensors).to.equal(before);
    m.dispose();
  });

  it('saves checkpoints that load on cpu, and loads those cpu saves', async () => {
    for (const [first, second] of [
      ['native', 'cpu'],
      ['cpu', 'native'],
    ]) {
      const a = await trainOn(first, 3);
      await checkpoint(a.model, `${first}3`);
      a.model.dispose();
      // From the checkpoint, 2 more steps (a fresh model's noise draws) on either backend.
      const same = await trainOn(first, 2, `${first}3`);
      const sameState = await checkpoint(same.model, `${first}5`);
      same.model.dispose();
      const other = await trainOn(second, 0, `${first}3`);
      // Loading then saving reproduces the checkpoint exactly.
      expect(await checkpoint(other.model, `${first}3-on-${second}`)).to.deep.equal(
        await read(path.join(dir, `${first}3`)),
      );
      const losses = [0, 1].map(() => other.model.trainStep(data.images, data.labels, data.batch));
      expect(other.model.step).to.equal(5);
      losses.forEach((l, i) =>
        expect(Math.abs(l - same.losses[i]) / same.losses[i], `loss ${i}`).to.be.at.most(1e-4),
      );
      expectClose(await checkpoint(other.model, `${first}5-on-${second}`), sameState);
      other.model.dispose();
    }
  });
});
