import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FusedAdamEma } from '../backend/adam-ema.js';
import { createRng } from './random.js';
import type { RngState, StatefulRng } from './random.js';
import { makeSchedule } from './schedule.js';
import type { Schedule, ScheduleKind } from './schedule.js';
import { createUnet, resolveUnetConfig, unetApply, unetParamCount, unetShapes } from './unet.js';
import type { UnetConfig, UnetParams } from './unet.js';

/** Everything that defines a DDPM: the UNet, the noise schedule and the optimiser. */
export interface DdpmConfig extends UnetConfig {
  schedule: ScheduleKind;
  /** Adam learning rate. */
  lr: number;
  /** Decay of the weights' exponential moving average used for sampling. */
  emaDecay: number;
  /** Seeds the initial weights and the training noise. */
  seed: number;
}

export const DEFAULT_DDPM_CONFIG: DdpmConfig = {
  ...resolveUnetConfig(),
  schedule: 'cosine',
  lr: 1e-3,
  emaDecay: 0.99,
  seed: 0,
};

export interface SampleOptions {
  /** N*2 conditioning labels (x, y) in pixel units. */
  labels: Float32Array;
  method?: 'ddim' | 'ddpm';
  /** DDIM steps (default 20); DDPM always walks all T steps. */
  steps?: number;
  seed?: number;
  /** Clip the predicted clean image to [-1, 1] at each step (default true). */
  clipX0?: boolean;
  /** Samples per forward pass (default 100), to bound memory. */
  chunk?: number;
}

export interface SampleResult {
  /** N*size*size images in [-1, 1] (when clipped). */
  images: Float32Array;
  /** N*dim layer-4 activations taken at the first sampling step. */
  activations: Float32Array;
  dim: number;
}

interface Manifest {
  format: 'phasewatch-ddpm';
  version: 1;
  config: DdpmConfig;
  step: number;
  /** Where the noise and timestep draws stood (absent in checkpoints before it was kept). */
  rng?: RngState;
  tensors: { name: string; group: 'param' | 'ema' | 'adam'; shape: number[]; offset: number }[];
}

/**
 * Completes and validates a DDPM config; throws a one-line error naming the bad field.
 * @example resolveDdpmConfig({ lr: 3e-4 }).emaDecay // 0.99
 */
export function resolveDdpmConfig(partial: Partial<DdpmConfig> = {}): DdpmConfig {
  const c = { ...DEFAULT_DDPM_CONFIG, ...partial };
  const unet = resolveUnetConfig(c);
  if (c.schedule !== 'cosine' && c.schedule !== 'linear') {
    throw new Error(`ddpm.schedule must be one of cosine, linear (got "${String(c.schedule)}")`);
  }
  if (!(typeof c.lr === 'number' && c.lr > 0 && c.lr <= 1)) {
    throw new Error(`ddpm.lr must be a number in (0, 1] (got ${String(c.lr)})`);
  }
  if (!(typeof c.emaDecay === 'number' && c.emaDecay >= 0 && c.emaDecay < 1)) {
    throw new Error(`ddpm.emaDecay must be a number in [0, 1) (got ${String(c.emaDecay)})`);
  }
  if (!Number.isInteger(c.seed)) {
    throw new Error(`ddpm.seed must be an integer (got ${String(c.seed)})`);
  }
  return { ...c, ...unet };
}

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A conditional DDPM on the UNet: ε-prediction training with Adam, an EMA copy for sampling.
 * @example
 * const m = new Ddpm({ size: 16, widths: [8, 16, 32] });
 * const loss = m.trainStep(images, labels, 64);
 * const { images: out, activations, dim } = await m.sample({ labels, seed: 1 });
 */
export class Ddpm {
  readonly config: DdpmConfig;
  readonly paramCount: number;
  readonly schedule: Schedule;
  /** Optimiser steps taken (restored by `load`). */
  step = 0;
  private readonly params: UnetParams<tf.Variable>;
  private readonly ema: Record<string, tf.Variable>;
  private readonly names: string[];
  /** Adam and the EMA as one step (one addon call on 'native', tfjs's Adam ops elsewhere). */
  private optimizer: FusedAdamEma;
  private readonly rng: StatefulRng;
  private disposed = false;

  constructor(config: Partial<DdpmConfig> = {}) {
    this.config = resolveDdpmConfig(config);
    this.schedule = makeSchedule({ kind: this.config.schedule, T: this.config.T });
    this.params = createUnet(this.config, this.config.seed);
    this.names = unetShapes(this.params.config).map(([n]) => n);
    this.ema = {};
    for (const n of this.names) this.ema[n] = tf.variable(this.params.weights[n], false);
    this.paramCount = unetParamCount(this.params.config);
    this.optimizer = this.makeOptimizer();
    this.rng = createRng(this.config.seed ^ 0x5eed);
  }

  /**
   * One Adam step on the ε-prediction MSE at uniformly drawn t; updates the EMA; returns the loss.
   * `images` is batch*size*size values in [-1, 1], `labels` batch*2 pixel coordinates.
   */
  trainStep(images: Float32Array, labels: Float32Array, batch: number): number {
    this.assertLive();
    const S = this.config.size;
    if (!Number.isInteger(batch) || batch < 1) {
      throw new Error(`batch must be a positive integer (got ${batch})`);
    }
    if (images.length !== batch * S * S) {
      throw new Error(
        `images must hold batch*${S}*${S} = ${batch * S * S} values (got ${images.length})`,
      );
    }
    if (labels.length !== batch * 2) {
      throw new Error(`labels must hold batch*2 = ${batch * 2} values (got ${labels.length})`);
    }
    const T = this.config.T;
    const ts = new Float32Array(batch);
    const a = new Float32Array(batch);
    const b = new Float32Array(batch);
    for (let i = 0; i < batch; i++) {
      const t = this.rng.int(T);
      ts[i] = t;
      a[i] = Math.sqrt(this.schedule.alphaBars[t]);
      b[i] = Math.sqrt(1 - this.schedule.alphaBars[t]);
    }
    const noiseValues = this.rng.normals(batch * S * S);
    const vars = this.names.map((n) => this.params.weights[n]);
    const optimizer = this.optimizer;
    const loss = tf.tidy(() => {
      const x0 = tf.tensor4d(images, [batch, S, S, 1]);
      const noise = tf.tensor4d(noiseValues, [batch, S, S, 1]);
      const xt = tf.add<tf.Tensor4D>(
        tf.mul(x0, tf.tensor4d(a, [batch, 1, 1, 1])),
        tf.mul(noise, tf.tensor4d(b, [batch, 1, 1, 1])),
      );
      const t = tf.tensor1d(ts);
      const lab = tf.tensor2d(labels, [batch, 2]);
      const lossFn = (): tf.Scalar =>
        tf.losses.meanSquaredError<tf.Tensor, tf.Scalar>(
          noise,
          unetApply(this.params, xt, t, lab).eps,
        );
      // Adam and the EMA in one pass over each weight (tidy frees the gradients).
      const { value, grads } = tf.variableGrads(lossFn, vars);
      const emas = this.names.map((n) => this.ema[n]);
      optimizer.step(
        vars,
        vars.map((v) => grads[v.name]),
        emas,
        this.config.emaDecay,
      );
      return value;
    });
    const value = loss.dataSync()[0];
    loss.dispose();
    this.step++;
    return value;
  }

  private makeOptimizer(): FusedAdamEma {
    return new FusedAdamEma(this.config.lr);
  }

  /**
   * Samples images for the given labels with the EMA weights and returns, from the same pass,
   * the layer-4 activations at the first sampling step. Deterministic for a given seed.
   */
  /** Copies of the EMA weights as they are now; pass them to `sample` later, then dispose them. */
  copyEma(): Record<string, tf.Tensor> {
    this.assertLive();
    const weights: Record<string, tf.Tensor> = {};
    for (const n of this.names) weights[n] = tf.clone(this.ema[n]);
    return weights;
  }

  /**
   * Samples with `frozen` EMA weights (from `copyEma`) when given, else with a copy of the
   * current ones.
   */
  async sample(opts: SampleOptions, frozen?: Record<string, tf.Tensor>): Promise<SampleResult> {
    this.assertLive();
    const { labels } = opts;
    const method = opts.method ?? 'ddim';
    const clip = opts.clipX0 ?? true;
    const chunk = opts.chunk ?? 100;
    const S = this.config.size;
    const T = this.config.T;
    if (method !== 'ddim' && method !== 'ddpm') {
      throw new Error(`sample method must be one of ddim, ddpm (got "${String(method)}")`);
    }
    const steps = opts.steps ?? 20;
    if (!Number.isInteger(steps) || steps < 1 || steps > T) {
      throw new Error(`sample steps must be an integer in [1, ${T}] (got ${steps})`);
    }
    if (labels.length % 2 !== 0) {
      throw new Error(`sample labels must hold N*2 values (got ${labels.length})`);
    }
    if (!Number.isInteger(chunk) || chunk < 1) {
      throw new Error(`sample chunk must be a positive integer (got ${chunk})`);
    }
    const N = labels.length / 2;
    const [, w1] = this.config.widths;
    const side = S / 4;
    const dim = side * side * w1;
    const images = new Float32Array(N * S * S);
    const activations = new Float32Array(N * dim);
    const times =
      method === 'ddim' ? ddimTimes(T, steps) : Array.from({ length: T }, (_, i) => T - 1 - i);
    const rng = createRng(opts.seed ?? 0);
    // Freeze the EMA weights so training steps interleaved with this sampling do not mix in.
    const weights = frozen ?? this.copyEma();
    const params: UnetParams = { config: this.params.config, weights };
    try {
      for (let start = 0; start < N; start += chunk) {
        const n = Math.min(chunk, N - start);
        const lab = tf.tensor2d(labels.subarray(2 * start, 2 * (start + n)), [n, 2]);
        let x = tf.tensor4d(rng.normals(n * S * S), [n, S, S, 1]);
        try {
          for (let i = 0; i < times.length; i++) {
            const t = times[i];
            const tPrev = i + 1 < times.length ? times[i + 1] : -1;
            const noise = method === 'ddpm' && tPrev >= 0 ? rng.normals(n * S * S) : undefined;
            const capture = i === 0;
            const next = tf.tidy(() => {
              const out = unetApply(params, x, tf.fill<tf.Rank.R1>([n], t), lab, { capture });
              if (out.layer4) {
                activations.set(out.layer4.dataSync(), start * dim);
                out.layer4.dispose(); // kept by unetApply, so tidy would not free it
              }
              return this.denoiseStep(x, out.eps, t, tPrev, clip, method, noise);
            });
            x.dispose();
            x = next;
            await nextTick();
          }
          images.set(await x.data(), start * S * S);
        } finally {
          x.dispose();
          lab.dispose();
        }
      }
    } finally {
      if (!frozen) tf.dispose(Object.values(weights));
    }
    return { images, activations, dim };
  }

  private denoiseStep(
    x: tf.Tensor4D,
    eps: tf.Tensor4D,
    t: number,
    tPrev: number,
    clip: boolean,
    method: 'ddim' | 'ddpm',
    noise: Float32Array | undefined,
  ): tf.Tensor4D {
    const ab = this.schedule.alphaBars;
    const abT = ab[t];
    const abPrev = tPrev >= 0 ? ab[tPrev] : 1;
    let x0 = tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - abT))), Math.sqrt(abT));
    let e: tf.Tensor = eps;
    if (clip) {
      x0 = tf.clipByValue(x0, -1, 1);
      e = tf.div(tf.sub(x, tf.mul(x0, Math.sqrt(abT))), Math.sqrt(1 - abT));
    }
    if (tPrev < 0) return x0 as tf.Tensor4D;
    if (method === 'ddim') {
      return tf.add<tf.Tensor4D>(tf.mul(x0, Math.sqrt(abPrev)), tf.mul(e, Math.sqrt(1 - abPrev)));
    }
    // DDPM posterior q(x_{t-1} | x_t, x0): consecutive steps, so beta_t = betas[t].
    const beta = this.schedule.betas[t];
    const c0 = (beta * Math.sqrt(abPrev)) / (1 - abT);
    const ct = ((1 - abPrev) * Math.sqrt(1 - beta)) / (1 - abT);
    const sigma = Math.sqrt((beta * (1 - abPrev)) / (1 - abT));
    const mean = tf.add(tf.mul(x0, c0), tf.mul(x, ct));
    const z = tf.tensor(noise ?? new Float32Array(x.size), x.shape);
    return tf.add<tf.Tensor4D>(mean, tf.mul(z, sigma));
  }

  /**
   * Writes `weights.bin` (params, EMA, Adam state; float32 little-endian) and `model.json`
   * (config, step count, the state of the noise and timestep draws).
   */
  async save(dir: string): Promise<void> {
    this.assertLive();
    await mkdir(dir, { recursive: true });
    const entries: { name: string; group: 'param' | 'ema' | 'adam'; tensor: tf.Tensor }[] = [];
    for (const n of this.names)
      entries.push({ name: n, group: 'param', tensor: this.params.weights[n] });
    for (const n of this.names) entries.push({ name: n, group: 'ema', tensor: this.ema[n] });
    const adam = await this.optimizer.getWeights();
    // Adam keys its moments by position in the variable list, so store them in order.
    adam.forEach((w, i) => entries.push({ name: `adam.${i}`, group: 'adam', tensor: w.tensor }));
    const total = entries.reduce((s, e) => s + e.tensor.size, 0);
    const buf = new Float32Array(total);
    const tensors: Manifest['tensors'] = [];
    let offset = 0;
    for (const e of entries) {
      buf.set(await e.tensor.data<'float32'>(), offset);
      tensors.push({ name: e.name, group: e.group, shape: e.tensor.shape, offset });
      offset += e.tensor.size;
    }
    // getWeights hands back a fresh iterations scalar; the moments are the optimiser's own.
    if (adam.length > 0) adam[0].tensor.dispose();
    const manifest: Manifest = {
      format: 'phasewatch-ddpm',
      version: 1,
      config: this.config,
      step: this.step,
      rng: this.rng.state(),
      tensors,
    };
    await writeAtomic(path.join(dir, 'weights.bin'), new Uint8Array(buf.buffer));
    await writeAtomic(path.join(dir, 'model.json'), JSON.stringify(manifest, null, 2));
  }

  /**
   * Restores weights, EMA, Adam state, step count and the noise and timestep draws saved by
   * `save`, so training goes on exactly as it would have. The config in the directory must
   * describe the same architecture as this model.
   */
  async load(dir: string): Promise<void> {
    this.assertLive();
    const manifest = await readManifest(dir);
    const mine = unetShapes(this.params.config);
    const theirs = unetShapes(resolveUnetConfig(manifest.config));
    if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
      throw new Error(`model in ${dir} has a different architecture than this model`);
    }
    const bytes = await readFile(path.join(dir, 'weights.bin'));
    const total = manifest.tensors.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
    if (bytes.byteLength !== total * 4) {
      throw new Error(
        `weights.bin in ${dir} holds ${bytes.byteLength} bytes, model.json expects ${total * 4}`,
      );
    }
    const all = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    );
    const view = (t: Manifest['tensors'][number]): Float32Array =>
      all.subarray(t.offset, t.offset + t.shape.reduce((a, b) => a * b, 1));
    const adam: { name: string; tensor: tf.Tensor }[] = [];
    for (const t of manifest.tensors) {
      if (t.group === 'adam') {
        adam.push({ name: t.name, tensor: tf.tensor(view(t), t.shape) });
        continue;
      }
      const target = t.group === 'param' ? this.params.weights[t.name] : this.ema[t.name];
      if (!target) throw new Error(`model.json in ${dir} names an unknown tensor "${t.name}"`);
      tf.tidy(() => target.assign(tf.tensor(view(t), t.shape)));
    }
    this.optimizer.dispose();
    this.optimizer = this.makeOptimizer();
    if (adam.length > 0) {
      // Adam takes [iterations, first moments…, second moments…] and copies them into variables.
      await this.optimizer.setWeights(adam);
      tf.dispose(adam.map((a) => a.tensor));
    }
    this.step = manifest.step;
    if (manifest.rng) this.rng.restore(manifest.rng);
  }

  /** Frees every tensor this model holds. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(Object.values(this.params.weights));
    tf.dispose(Object.values(this.ema));
    this.optimizer.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('this Ddpm has been disposed');
  }
}

/**
 * Creates a DDPM; the factory form of `new Ddpm(config)`.
 * @example const m = createDdpm({ widths: [8, 16, 32] });
 */
export function createDdpm(config: Partial<DdpmConfig> = {}): Ddpm {
  return new Ddpm(config);
}

/** `steps` timesteps from T-1 down to 0, evenly spaced and distinct. */
export function ddimTimes(T: number, steps: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = steps === 1 ? T - 1 : Math.round(((T - 1) * (steps - 1 - i)) / (steps - 1));
    if (out.length === 0 || t < out[out.length - 1]) out.push(t);
  }
  return out;
}

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

async function readManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, 'model.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(
      `cannot read ${file}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      { cause: err },
    );
  }
  const m = parsed as Partial<Manifest>;
  if (
    m?.format !== 'phasewatch-ddpm' ||
    m.version !== 1 ||
    !Array.isArray(m.tensors) ||
    !m.config
  ) {
    throw new Error(`${file} is not a phasewatch-ddpm v1 manifest`);
  }
  return m as Manifest;
}
