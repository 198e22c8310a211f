import * as tf from '@tensorflow/tfjs';
import type { ScheduleKind } from '../schedule.js';

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

export type Weights = Record<string, tf.Tensor>;

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
