import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { FusedAdamEma } from '../backend/adam-ema.js';
import { createRng } from '../../streams/random.js';
import type { RngState, StatefulRng } from '../../streams/random.js';
import {
  readCheckpointManifest,
  readCheckpointWeights,
  restoreOptimizer,
  restoreTrainingTensors,
  writeTrainingCheckpoint,
} from './checkpoint.js';
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
              // DDPM posterior q(x_{t-1} | x_t, x0): consecutive steps, so beta_t = betas[t].
              const beta = this.schedule.betas[t];
              return reverseStep(this.schedule, x, out.eps, t, tPrev, clip, method, noise, beta);
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

  /**
   * Writes `weights.bin` (params, EMA, Adam state; float32 little-endian) and `model.json`
   * (config, step count, the state of the noise and timestep draws).
   */
  async save(dir: string): Promise<void> {
    this.assertLive();
    const head = {
      format: 'phasewatch-ddpm',
      version: 1,
      config: this.config,
      step: this.step,
      rng: this.rng.state(),
    };
    await writeTrainingCheckpoint(dir, head, {
      names: this.names,
      params: this.params.weights,
      ema: this.ema,
      optimizers: { adam: this.optimizer },
    });
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
    const view = await readCheckpointWeights(dir, manifest);
    const { adam } = restoreTrainingTensors(dir, manifest.tensors, view, {
      params: this.params.weights,
      ema: this.ema,
    });
    // Adam takes [iterations, first moments…, second moments…] and copies them into variables.
    this.optimizer = await restoreOptimizer(this.optimizer, () => this.makeOptimizer(), adam);
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

/**
 * One reverse step of a DDPM (the UNet DDPM's and DiVA's) with a (guided) noise estimate: x̂₀
 * from ε (clipped when asked, ε then recomputed), then DDIM's deterministic step or the DDPM
 * posterior q(x_{t-1} | x_t, x̂₀).
 * With the guided ε this is the seed's A.2: μ(x_t, z) = μ_θ(x_t) + (1−α_t)/√α_t · g.
 */
export function reverseStep<T extends tf.Tensor>(
  schedule: Schedule,
  x: T,
  eps: T,
  t: number,
  tPrev: number,
  clip: boolean,
  method: 'ddim' | 'ddpm',
  noise: Float32Array | undefined,
  beta?: number,
): T {
  return tf.tidy(() => {
    const ab = schedule.alphaBars;
    const abT = ab[t];
    const abPrev = tPrev >= 0 ? ab[tPrev] : 1;
    let x0: tf.Tensor = tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - abT))), Math.sqrt(abT));
    let e: tf.Tensor = eps;
    if (clip) {
      x0 = tf.clipByValue(x0, -1, 1);
      e = tf.div(tf.sub(x, tf.mul(x0, Math.sqrt(abT))), Math.sqrt(1 - abT));
    }
    if (tPrev < 0) return x0 as T;
    if (method === 'ddim') {
      return tf.add<T>(tf.mul(x0, Math.sqrt(abPrev)), tf.mul(e, Math.sqrt(1 - abPrev)));
    }
    // the posterior's beta_t between tPrev and t (`beta`: the schedule's own, for consecutive steps)
    const b = beta ?? 1 - abT / abPrev;
    const c0 = (b * Math.sqrt(abPrev)) / (1 - abT);
    const ct = ((1 - abPrev) * Math.sqrt(1 - b)) / (1 - abT);
    const sigma = Math.sqrt((b * (1 - abPrev)) / (1 - abT));
    const mean = tf.add(tf.mul(x0, c0), tf.mul(x, ct));
    const z = tf.tensor(noise ?? new Float32Array(x.size), x.shape);
    return tf.add<T>(mean, tf.mul(z, sigma));
  });
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

async function readManifest(dir: string): Promise<Manifest> {
  const m = await readCheckpointManifest(dir, ['phasewatch-ddpm'], 1);
  if (!m.config)
    throw new Error(`${path.join(dir, 'model.json')} is not a phasewatch-ddpm v1 manifest`);
  return m as unknown as Manifest;
}
