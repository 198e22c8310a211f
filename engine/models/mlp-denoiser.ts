import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import type {
  Activation,
  Batch,
  FeatureOptions,
  Model,
  ModelSample,
  ModelSampleOptions,
} from '../../streams/events.js';
import { FusedAdamEma } from '../backend/adam-ema.js';
import {
  readCheckpointManifest,
  readCheckpointWeights,
  restoreOptimizer,
  restoreTrainingTensors,
  writeTrainingCheckpoint,
} from './checkpoint.js';
import { createRng } from '../../streams/random.js';
import type { Rng } from '../../streams/random.js';
import { makeSchedule } from './schedule.js';
import type { Schedule } from './schedule.js';
import {
  mlpDenoiserApply,
  mlpDenoiserShapes,
  resolveMlpDenoiserConfig,
  type MlpDenoiserConfig,
  type Weights,
} from './mlp-denoiser/network.js';
import { MlpDenoiserSampler } from './mlp-denoiser/sampler.js';

export {
  DEFAULT_MLP_DENOISER_CONFIG,
  mlpDenoiserApply,
  mlpDenoiserShapes,
  resolveMlpDenoiserConfig,
  timestepEmbedding,
  type MlpDenoiserConfig,
} from './mlp-denoiser/network.js';
export { MlpDenoiserSampler } from './mlp-denoiser/sampler.js';

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
      optimizers: { adam: this.optimizer },
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
    const { adam } = restoreTrainingTensors(dir, m.tensors, view, {
      params: this.params,
      ema: this.ema,
    });
    this.optimizer = await restoreOptimizer(this.optimizer, () => this.makeOptimizer(), adam);
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
