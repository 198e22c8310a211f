import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../../streams/random.js';

/** Shape of DiVA's inference network fφ (seed 001, A.5: a two-layer ConvNet on disks). */
export interface EncoderConfig {
  /** Image side in pixels; a multiple of 4 (two stride-2 convolutions). */
  size: number;
  /** Channels of the two 3×3 stride-2 convolutions (the seed: 96, 96). */
  channels: [number, number];
  /** Dimension of the latent z (the seed: 3 on disks). */
  latentDim: number;
  /** Smallest posterior standard deviation, so the precision 1/σ² stays finite. */
  sigmaFloor: number;
  /**
   * Give the network the noise level √(1−ᾱ_t) of its input as a second, constant input
   * channel (0 for clean images). The seed's encoder is blind to it (default false).
   */
  noiseInput?: boolean;
}

/** The noise level of each input: one number for all, or a [B] tensor. */
export type NoiseLevel = number | tf.Tensor1D;

export type EncoderWeights = Record<string, tf.Tensor>;

/** The posterior qφ(z | x) = N(μ, diag σ²) of a batch: both [B, latentDim]. */
export interface Posterior {
  mu: tf.Tensor2D;
  sigma: tf.Tensor2D;
}

/** Weight names and shapes in a fixed order (checkpoints and the optimiser rely on it). */
export function encoderShapes(c: EncoderConfig): [string, number[]][] {
  const [c1, c2] = c.channels;
  const flat = (c.size / 4) * (c.size / 4) * c2;
  return [
    ['enc.conv1.w', [3, 3, c.noiseInput ? 2 : 1, c1]],
    ['enc.conv2.w', [3, 3, c1, c2]],
    ['enc.mu.w', [flat, c.latentDim]],
    ['enc.sigma.w', [flat, c.latentDim]],
  ];
}

/**
 * Seeded He-normal weights for the encoder's variables. Bias-free, as in the seed (after
 * Mohan et al.'s bias-free denoisers); the σ head starts small so σ starts near softplus(0).
 */
export function createEncoder(c: EncoderConfig, seed: number): Record<string, tf.Variable> {
  const rng = createRng(seed ^ 0xe1c0de);
  const out: Record<string, tf.Variable> = {};
  for (const [name, shape] of encoderShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = n / shape[shape.length - 1];
    const std = name === 'enc.sigma.w' ? 0.1 / Math.sqrt(fanIn) : Math.sqrt(2 / fanIn);
    const v = rng.normals(n);
    for (let i = 0; i < n; i++) v[i] *= std;
    const init = tf.tensor(v, shape);
    out[name] = tf.variable(init, true);
    init.dispose();
  }
  return out;
}

/**
 * fφ(x) → (μ, σ): conv 3×3 stride 2 → ReLU → conv 3×3 stride 2 → ReLU → flatten → two linear
 * heads; σ = softplus(·) + sigmaFloor. Uses plain tf ops only, so it is twice differentiable
 * (the guidance score is a gradient, and training differentiates through it).
 * @example const { mu, sigma } = encode(cfg, W, x); // x [B,S,S,1]
 */
export function encode(
  c: EncoderConfig,
  W: EncoderWeights,
  x: tf.Tensor4D,
  level: NoiseLevel = 0,
): Posterior {
  return tf.tidy(() => {
    let input = x;
    if (c.noiseInput) {
      const [b, h, w] = x.shape;
      const map =
        typeof level === 'number'
          ? tf.fill([b, h, w, 1], level)
          : tf.mul(tf.ones([b, h, w, 1]), tf.reshape(level, [b, 1, 1, 1]));
      input = tf.concat<tf.Tensor4D>([x, map as tf.Tensor4D], 3);
    }
    const h1 = tf.relu(tf.conv2d(input, W['enc.conv1.w'] as tf.Tensor4D, 2, 'same'));
    const h2 = tf.relu(tf.conv2d(h1, W['enc.conv2.w'] as tf.Tensor4D, 2, 'same'));
    const flat: tf.Tensor2D = h2.reshape([x.shape[0], -1]);
    const mu = tf.matMul<tf.Tensor2D>(flat, W['enc.mu.w']);
    const sigma = tf.add(
      tf.softplus(tf.matMul(flat, W['enc.sigma.w'] as tf.Tensor2D)),
      c.sigmaFloor,
    );
    return { mu, sigma: sigma as tf.Tensor2D };
  });
}

/**
 * log qφ(z | x) per example up to its constant: −½ (‖(z − μ(x)) / σ(x)‖² + log|diag σ(x)²|)
 * (the Mahalanobis distance and log-determinant of Algorithms 1 and 2) → [B].
 */
export function logPosterior(
  c: EncoderConfig,
  W: EncoderWeights,
  x: tf.Tensor4D,
  z: tf.Tensor2D,
  level: NoiseLevel = 0,
): tf.Tensor1D {
  return tf.tidy(() => {
    const { mu, sigma } = encode(c, W, x, level);
    const maha = tf.square(tf.div(tf.sub(z, mu), sigma));
    const logDet = tf.mul(tf.log(sigma), 2);
    return tf.mul<tf.Tensor1D>(tf.sum(tf.add(maha, logDet), 1), -0.5);
  });
}

/**
 * The guidance score g = ∇ₓ log qφ(z | x) of every example at once (each example's log q
 * depends on its own image only, so the gradient of their sum is the per-example gradient).
 * Differentiable in the weights and z when called under a gradient tape.
 * @example const g = guidanceScore(cfg, W, xt, z); // [B,S,S,1]
 */
export function guidanceScore(
  c: EncoderConfig,
  W: EncoderWeights,
  x: tf.Tensor4D,
  z: tf.Tensor2D,
  level: NoiseLevel = 0,
): tf.Tensor4D {
  const f = (xi: tf.Tensor): tf.Tensor => tf.sum(logPosterior(c, W, xi as tf.Tensor4D, z, level));
  return tf.grad(f)(x) as tf.Tensor4D;
}

/** KL(N(μ, σ²) ‖ N(0, I)) per example, summed over latent axes → [B]. */
export function klToPrior(p: Posterior): tf.Tensor1D {
  return tf.tidy(() => {
    const s2 = tf.square(p.sigma);
    const terms = tf.sub(tf.add(tf.square(p.mu), s2), tf.add(tf.log(s2), 1));
    return tf.mul<tf.Tensor1D>(tf.sum(terms, 1), 0.5);
  });
}
