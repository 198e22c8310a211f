import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import type {
  Activation,
  Batch,
  FeatureOptions,
  Model,
  ModelSample,
  ModelSampleOptions,
  Sampler,
} from '../../streams/events.js';
import { FusedAdamEma } from '../backend/adam-ema.js';
import {
  readCheckpointManifest,
  readCheckpointWeights,
  restoreTrainingTensors,
  writeTrainingCheckpoint,
} from './checkpoint.js';
import { ddimTimes, reverseStep } from './ddpm.js';
import { createRng } from '../../streams/random.js';
import type { Rng } from '../../streams/random.js';
import { makeSchedule } from './schedule.js';
import type { Schedule, ScheduleKind } from './schedule.js';

/**
 * A 3-layer timestep-conditioned MLP denoiser for vector data (seed 002's MoLRG model:
 * ReLU MLP, hidden width 1024, features from the 2nd layer), trained with the DDPM
 * ε-prediction loss.
 */
export interface MlpDenoiserConfig {
  /** Length of one example vector. */
  dim: number;
  /** Hidden width of both hidden layers (seed 002: 1024). */
  hidden: number;
  /** Width of the sinusoidal timestep embedding (even). */
  embedDim: number;
  /** Diffusion steps T. */
  T: number;
  schedule: ScheduleKind;
  /** Conditioning values per example; they only give the count unless `conditional`. */
  labelDim: number;
  /** Feed the labels to the first layer (a class-conditional denoiser). */
  conditional: boolean;
  /** Adam learning rate. */
  lr: number;
  /** EMA decay of the weights used for sampling and features (0: the raw weights). */
  emaDecay: number;
  seed: number;
  /**
   * Width of a DiER encoder's code (seed 003; 0 = none, a plain denoiser): v_t = E(x0, t), an
   * MLP of the clean example and the timestep, enters both hidden layers of the denoiser.
   */
  encoderDim: number;
  /** Hidden width of the encoder (default: `hidden`). */
  encoderHidden?: number;
}

export const DEFAULT_MLP_DENOISER_CONFIG: Omit<MlpDenoiserConfig, 'dim'> = {
  hidden: 1024,
  embedDim: 64,
  T: 100,
  schedule: 'linear',
  labelDim: 1,
  conditional: false,
  lr: 1e-3,
  emaDecay: 0.99,
  seed: 0,
  encoderDim: 0,
};

type Weights = Record<string, tf.Tensor>;

/**
 * Completes and validates a config; throws a one-line error naming the bad field.
 * @example resolveMlpDenoiserConfig({ dim: 64, hidden: 256 }).T // 100
 */
export function resolveMlpDenoiserConfig(
  partial: Partial<MlpDenoiserConfig> & { dim: number },
): MlpDenoiserConfig {
  const c = { ...DEFAULT_MLP_DENOISER_CONFIG, ...partial };
  const posInt = (name: keyof MlpDenoiserConfig, min = 1): void => {
    const v = c[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new Error(`mlpDenoiser.${name} must be an integer >= ${min} (got ${String(v)})`);
    }
  };
  posInt('dim');
  posInt('hidden');
  posInt('embedDim', 2);
  if (c.embedDim % 2 !== 0) {
    throw new Error(`mlpDenoiser.embedDim must be even (got ${c.embedDim})`);
  }
  posInt('T', 2);
  posInt('labelDim', 0);
  if (c.schedule !== 'cosine' && c.schedule !== 'linear') {
    throw new Error(
      `mlpDenoiser.schedule must be one of cosine, linear (got "${String(c.schedule)}")`,
    );
  }
  if (typeof c.conditional !== 'boolean') {
    throw new Error(`mlpDenoiser.conditional must be a boolean (got ${String(c.conditional)})`);
  }
  if (c.conditional && c.labelDim < 1) {
    throw new Error(`mlpDenoiser.labelDim must be >= 1 when conditional (got ${c.labelDim})`);
  }
  if (!(typeof c.lr === 'number' && c.lr > 0 && c.lr <= 1)) {
    throw new Error(`mlpDenoiser.lr must be a number in (0, 1] (got ${String(c.lr)})`);
  }
  if (!(typeof c.emaDecay === 'number' && c.emaDecay >= 0 && c.emaDecay < 1)) {
    throw new Error(`mlpDenoiser.emaDecay must be a number in [0, 1) (got ${String(c.emaDecay)})`);
  }
  if (!Number.isInteger(c.seed)) {
    throw new Error(`mlpDenoiser.seed must be an integer (got ${String(c.seed)})`);
  }
  posInt('encoderDim', 0);
  if (c.encoderHidden !== undefined) posInt('encoderHidden');
  return c;
}

/** Names and shapes of the weights, in a fixed order. */
export function mlpDenoiserShapes(c: MlpDenoiserConfig): [string, number[]][] {
  const shapes: [string, number[]][] = [
    ['w1', [c.dim, c.hidden]],
    ['t1', [c.embedDim, c.hidden]],
    ['b1', [c.hidden]],
    ['w2', [c.hidden, c.hidden]],
    ['t2', [c.embedDim, c.hidden]],
    ['b2', [c.hidden]],
    ['w3', [c.hidden, c.dim]],
    ['b3', [c.dim]],
  ];
  if (c.conditional) shapes.push(['c1', [c.labelDim, c.hidden]]);
  if (c.encoderDim > 0) {
    const eh = c.encoderHidden ?? c.hidden;
    shapes.push(
      ['e1', [c.dim, eh]],
      ['et', [c.embedDim, eh]],
      ['eb1', [eh]],
      ['e2', [eh, c.encoderDim]],
      ['eb2', [c.encoderDim]],
      ['v1', [c.encoderDim, c.hidden]],
      ['v2', [c.encoderDim, c.hidden]],
    );
  }
  return shapes;
}

/** Sinusoidal embedding of (float) timesteps t: [N, E] of sin/cos at geometric frequencies. */
export function timestepEmbedding(t: tf.Tensor1D, embedDim: number): tf.Tensor2D {
  return tf.tidy(() => {
    const half = embedDim / 2;
    const freqs = new Float32Array(half);
    for (let i = 0; i < half; i++) freqs[i] = Math.exp((-Math.log(10000) * i) / half);
    const args = tf.mul(tf.reshape(t, [-1, 1]), tf.tensor2d(freqs, [1, half]));
    return tf.concat([tf.sin(args), tf.cos(args)], 1) as tf.Tensor2D;
  });
}

/**
 * Forward pass: both hidden activations and the predicted noise; with a DiER encoder also its
 * code `encoder` = E(x0, t) of the clean examples `x0` (zeros when `x0` is not given, as when
 * sampling from noise).
 */
export function mlpDenoiserApply(
  c: MlpDenoiserConfig,
  w: Weights,
  x: tf.Tensor2D,
  t: tf.Tensor1D,
  labels?: tf.Tensor2D,
  x0?: tf.Tensor2D,
): { layer1: tf.Tensor2D; layer2: tf.Tensor2D; eps: tf.Tensor2D; encoder?: tf.Tensor2D } {
  const emb = timestepEmbedding(t, c.embedDim);
  let pre1 = tf.add(tf.add(tf.matMul(x, w.w1), tf.matMul(emb, w.t1)), w.b1);
  let pre2Extra: tf.Tensor | undefined;
  let encoder: tf.Tensor2D | undefined;
  if (c.conditional && labels) pre1 = tf.add(pre1, tf.matMul(labels, w.c1));
  if (c.encoderDim > 0) {
    encoder = x0
      ? tf.add<tf.Tensor2D>(
          tf.matMul(
            tf.relu(tf.add(tf.add(tf.matMul(x0, w.e1), tf.matMul(emb, w.et)), w.eb1)),
            w.e2,
          ),
          w.eb2,
        )
      : tf.zeros<tf.Rank.R2>([x.shape[0], c.encoderDim]);
    pre1 = tf.add(pre1, tf.matMul(encoder, w.v1));
    pre2Extra = tf.matMul(encoder, w.v2);
  }
  const layer1 = tf.relu(pre1) as tf.Tensor2D;
  let pre2 = tf.add(tf.add(tf.matMul(layer1, w.w2), tf.matMul(emb, w.t2)), w.b2);
  if (pre2Extra) pre2 = tf.add(pre2, pre2Extra);
  const layer2 = tf.relu(pre2) as tf.Tensor2D;
  const eps = tf.add<tf.Tensor2D>(tf.matMul(layer2, w.w3), w.b3);
  return { layer1, layer2, eps, encoder };
}

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A frozen copy of an MLP denoiser's weights: sampling (DDIM) and features for probes.
 * Owns its tensors; `dispose()` frees them.
 */
export class MlpDenoiserSampler implements Sampler {
  private disposed = false;
  constructor(
    readonly config: MlpDenoiserConfig,
    readonly schedule: Schedule,
    private readonly weights: Weights,
    readonly step: number,
  ) {}

  /**
   * DDIM sampling of N = conditions.length / labelDim vectors; `layer2` at the first step. A
   * DiER model has no clean example to encode here and samples with a zero code.
   */
  async sample(conditions: Float32Array, opts: ModelSampleOptions): Promise<ModelSample> {
    this.assertLive();
    const c = this.config;
    const N = countFrom(conditions, c.labelDim);
    const steps = opts.steps ?? 20;
    if (!Number.isInteger(steps) || steps < 1 || steps > c.T) {
      throw new Error(`sample steps must be an integer in [1, ${c.T}] (got ${String(steps)})`);
    }
    const rng = createRng(opts.seed);
    const times = ddimTimes(c.T, steps);
    const lab = c.conditional ? tf.tensor2d(conditions, [N, c.labelDim]) : undefined;
    let x = tf.tensor2d(rng.normals(N * c.dim), [N, c.dim]);
    const activations: Record<string, Activation> = {};
    try {
      for (let i = 0; i < times.length; i++) {
        const t = times[i];
        const tPrev = i + 1 < times.length ? times[i + 1] : -1;
        const next = tf.tidy(() => {
          const out = mlpDenoiserApply(c, this.weights, x, tf.fill<tf.Rank.R1>([N], t), lab);
          if (i === 0) {
            activations.layer1 = { data: out.layer1.dataSync() as Float32Array, dim: c.hidden };
            activations.layer2 = { data: out.layer2.dataSync() as Float32Array, dim: c.hidden };
          }
          return reverseStep(this.schedule, x, out.eps, t, tPrev, false, 'ddim', undefined);
        });
        x.dispose();
        x = next;
        await nextTick();
      }
      const images = (await x.data()) as Float32Array;
      return { images, activations };
    } finally {
      x.dispose();
      lab?.dispose();
    }
  }

  /**
   * Hidden activations (`layer1`, `layer2`) and the predicted noise (`eps`) on `examples`
   * (N*dim) at timestep t: noised to t with a seeded ε (`noisy`, the default) or the clean
   * examples with only the timestep input set to t (seed 002's clean-input protocol).
   */
  async features(
    examples: Float32Array,
    t: number,
    opts: FeatureOptions,
  ): Promise<Record<string, Activation>> {
    this.assertLive();
    const c = this.config;
    if (examples.length % c.dim !== 0) {
      throw new Error(`features examples must hold N*${c.dim} values (got ${examples.length})`);
    }
    if (!Number.isInteger(t) || t < 0 || t >= c.T) {
      throw new Error(
        `features t must be an integer timestep in [0, ${c.T - 1}] (got ${String(t)})`,
      );
    }
    const N = examples.length / c.dim;
    if (c.conditional && (!opts.conditions || opts.conditions.length !== N * c.labelDim)) {
      throw new Error(
        `features conditions must hold N*${c.labelDim} = ${N * c.labelDim} values for a conditional model (got ${opts.conditions?.length ?? 'none'})`,
      );
    }
    let input = examples;
    if (opts.noisy ?? true) {
      const noise = createRng(opts.seed).normals(examples.length);
      const a = Math.sqrt(this.schedule.alphaBars[t]);
      const b = Math.sqrt(1 - this.schedule.alphaBars[t]);
      input = new Float32Array(examples.length);
      for (let i = 0; i < input.length; i++) input[i] = a * examples[i] + b * noise[i];
    }
    const outs = tf.tidy(() => {
      const lab = c.conditional ? tf.tensor2d(opts.conditions!, [N, c.labelDim]) : undefined;
      const out = mlpDenoiserApply(
        c,
        this.weights,
        tf.tensor2d(input, [N, c.dim]),
        tf.fill<tf.Rank.R1>([N], t),
        lab,
        c.encoderDim > 0 ? tf.tensor2d(examples, [N, c.dim]) : undefined,
      );
      return [out.layer1, out.layer2, out.eps, out.encoder ?? tf.zeros([0])];
    });
    try {
      const [d1, d2, de, dv] = await Promise.all(outs.map((o) => o.data()));
      const acts: Record<string, Activation> = {
        layer1: { data: d1 as Float32Array, dim: c.hidden },
        layer2: { data: d2 as Float32Array, dim: c.hidden },
        eps: { data: de as Float32Array, dim: c.dim },
      };
      if (c.encoderDim > 0) acts.encoder = { data: dv as Float32Array, dim: c.encoderDim };
      return acts;
    } finally {
      tf.dispose(outs);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(Object.values(this.weights));
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('this MLP denoiser sampler has been disposed');
  }
}

interface Manifest {
  format: 'phasewatch-mlp-denoiser';
  version: 1;
  config: MlpDenoiserConfig;
  step: number;
  tensors: { name: string; group: 'param' | 'ema' | 'adam'; shape: number[]; offset: number }[];
}

/**
 * The MLP denoiser as an engine `Model`: ε-prediction DDPM training with Adam and an EMA of
 * the weights in one fused step, the EMA copy for sampling and features.
 * @example
 * const m = new MlpDenoiser({ dim: 64, hidden: 256 });
 * m.trainStep({ images, labels, batch: 128 });
 * const feats = await m.features(x0, 20, { seed: 1, noisy: false }); // feats.layer2
 */
export class MlpDenoiser implements Model {
  readonly kind: string;
  readonly config: MlpDenoiserConfig;
  readonly paramCount: number;
  readonly schedule: Schedule;
  step = 0;
  private readonly params: Record<string, tf.Variable>;
  private readonly ema: Record<string, tf.Variable>;
  private readonly names: string[];
  private optimizer: FusedAdamEma;
  private readonly rng: Rng;
  private disposed = false;

  constructor(config: Partial<MlpDenoiserConfig> & { dim: number }) {
    this.config = resolveMlpDenoiserConfig(config);
    this.kind = this.config.encoderDim > 0 ? 'dier-mlp' : 'mlp-denoiser';
    this.schedule = makeSchedule({ kind: this.config.schedule, T: this.config.T });
    const init = createRng(this.config.seed);
    this.params = {};
    this.ema = {};
    this.names = [];
    let count = 0;
    for (const [name, shape] of mlpDenoiserShapes(this.config)) {
      const size = shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(size);
      if (shape.length === 2) {
        // He-uniform-like scale on the fan-in; biases start at zero.
        const std = Math.sqrt(2 / shape[0]) * (name === 'w3' ? 0.1 : 1);
        for (let i = 0; i < size; i++) values[i] = init.normal() * std;
      }
      const initial = tf.tensor(values, shape);
      this.params[name] = tf.variable(initial, true, `mlp/${name}/${uid()}`);
      initial.dispose();
      this.ema[name] = tf.variable(this.params[name], false);
      this.names.push(name);
      count += size;
    }
    this.paramCount = count;
    this.optimizer = this.makeOptimizer();
    this.rng = createRng(this.config.seed ^ 0x5eed);
  }

  /** One Adam step on the ε-prediction MSE at uniformly drawn t; returns the loss. */
  trainStep(batch: Batch): number {
    this.assertLive();
    const c = this.config;
    const B = batch.batch;
    if (!Number.isInteger(B) || B < 1) {
      throw new Error(`batch.batch must be a positive integer (got ${String(B)})`);
    }
    if (batch.images.length !== B * c.dim) {
      throw new Error(
        `batch.images must hold batch*${c.dim} = ${B * c.dim} values (got ${batch.images.length})`,
      );
    }
    if (c.conditional && batch.labels.length !== B * c.labelDim) {
      throw new Error(
        `batch.labels must hold batch*${c.labelDim} = ${B * c.labelDim} values (got ${batch.labels.length})`,
      );
    }
    const ts = new Float32Array(B);
    const a = new Float32Array(B);
    const b = new Float32Array(B);
    for (let i = 0; i < B; i++) {
      const t = this.rng.int(c.T);
      ts[i] = t;
      a[i] = Math.sqrt(this.schedule.alphaBars[t]);
      b[i] = Math.sqrt(1 - this.schedule.alphaBars[t]);
    }
    const noiseValues = this.rng.normals(B * c.dim);
    const vars = this.names.map((n) => this.params[n]);
    const optimizer = this.optimizer;
    const loss = tf.tidy(() => {
      const x0 = tf.tensor2d(batch.images, [B, c.dim]);
      const noise = tf.tensor2d(noiseValues, [B, c.dim]);
      const xt = tf.add<tf.Tensor2D>(
        tf.mul(x0, tf.tensor2d(a, [B, 1])),
        tf.mul(noise, tf.tensor2d(b, [B, 1])),
      );
      const t = tf.tensor1d(ts);
      const lab = c.conditional ? tf.tensor2d(batch.labels, [B, c.labelDim]) : undefined;
      const w: Weights = this.params;
      const lossFn = (): tf.Scalar =>
        tf.losses.meanSquaredError<tf.Tensor2D, tf.Scalar>(
          noise,
          mlpDenoiserApply(c, w, xt, t, lab, c.encoderDim > 0 ? x0 : undefined).eps,
        );
      // Adam and the EMA in one pass over each weight (tidy frees the gradients).
      const { value, grads } = tf.variableGrads(lossFn, vars);
      optimizer.step(
        vars,
        vars.map((v) => grads[v.name]),
        this.names.map((n) => this.ema[n]),
        c.emaDecay,
      );
      return value;
    });
    const value = loss.dataSync()[0];
    loss.dispose();
    this.step++;
    return value;
  }

  /** A sampler on a copy of the EMA weights as they are now. */
  freeze(): MlpDenoiserSampler {
    this.assertLive();
    const weights: Weights = {};
    for (const n of this.names) weights[n] = tf.clone(this.ema[n]);
    return new MlpDenoiserSampler(this.config, this.schedule, weights, this.step);
  }

  async sample(conditions: Float32Array, opts: ModelSampleOptions): Promise<ModelSample> {
    const s = this.freeze();
    try {
      return await s.sample(conditions, opts);
    } finally {
      s.dispose();
    }
  }

  async features(
    examples: Float32Array,
    t: number,
    opts: FeatureOptions,
  ): Promise<Record<string, Activation>> {
    const s = this.freeze();
    try {
      return await s.features(examples, t, opts);
    } finally {
      s.dispose();
    }
  }

  private makeOptimizer(): FusedAdamEma {
    return new FusedAdamEma(this.config.lr);
  }

  /** Writes `weights.bin` (params, EMA, Adam state; float32 little-endian) and `model.json`. */
  async save(dir: string): Promise<void> {
    this.assertLive();
    const head = {
      format: 'phasewatch-mlp-denoiser',
      version: 1,
      config: this.config,
      step: this.step,
    };
    await writeTrainingCheckpoint(dir, head, {
      names: this.names,
      params: this.params,
      ema: this.ema,
      optimizer: this.optimizer,
    });
  }

  /** Restores what `save` wrote; the saved config must describe the same architecture. */
  async load(dir: string): Promise<void> {
    this.assertLive();
    const m = (await readCheckpointManifest(
      dir,
      ['phasewatch-mlp-denoiser'],
      1,
    )) as unknown as Partial<Manifest> & Pick<Manifest, 'tensors'>;
    if (!m.config) {
      throw new Error(
        `${path.join(dir, 'model.json')} is not a phasewatch-mlp-denoiser v1 manifest`,
      );
    }
    const mine = JSON.stringify(mlpDenoiserShapes(this.config));
    const theirs = JSON.stringify(mlpDenoiserShapes(resolveMlpDenoiserConfig(m.config)));
    if (mine !== theirs)
      throw new Error(`model in ${dir} has a different architecture than this model`);
    const view = await readCheckpointWeights(dir, m);
    const adam = restoreTrainingTensors(dir, m.tensors, view, {
      params: this.params,
      ema: this.ema,
    });
    this.optimizer.dispose();
    this.optimizer = this.makeOptimizer();
    if (adam.length > 0) {
      await this.optimizer.setWeights(adam);
      tf.dispose(adam.map((a) => a.tensor));
    }
    this.step = m.step ?? 0;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(Object.values(this.params));
    tf.dispose(Object.values(this.ema));
    this.optimizer.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('this MlpDenoiser has been disposed');
  }
}

/**
 * Creates an MLP denoiser; the factory form of `new MlpDenoiser(config)`.
 * @example const m = mlpDenoiser({ dim: 64, hidden: 1024 });
 */
export function mlpDenoiser(config: Partial<MlpDenoiserConfig> & { dim: number }): MlpDenoiser {
  return new MlpDenoiser(config);
}

let uidCounter = 0;
function uid(): number {
  return ++uidCounter;
}

function countFrom(conditions: Float32Array, labelDim: number): number {
  if (labelDim < 1) {
    throw new Error('sample needs labelDim >= 1: the conditions give the number of samples');
  }
  if (conditions.length % labelDim !== 0) {
    throw new Error(`sample conditions must hold N*${labelDim} values (got ${conditions.length})`);
  }
  return conditions.length / labelDim;
}
