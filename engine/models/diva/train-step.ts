import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../../../streams/events.js';
import { createRng } from '../../../streams/random.js';
import { FusedAdamEma } from '../../backend/adam-ema.js';
import type { Schedule } from '../schedule.js';
import { unetApply } from '../unet.js';
import type { DivaConfig } from './config.js';
import { encode, guidanceScore, klToPrior } from './encoder.js';
import { isDenoiserWeight } from './network.js';
import type { DivaWeights } from './network.js';

/** The random draws of one training step, given so a loss can be evaluated reproducibly. */
export interface DivaDraws {
  /** Timestep index per example. */
  t: Int32Array;
  /** The image noise ε, batch*S*S. */
  noise: Float32Array;
  /** The latent noise ε_z of the reparameterised z = μ₀ + σ₀·ε_z, batch*latentDim. */
  latentNoise: Float32Array;
}

/** The two terms of the loss, as numbers. */
export interface DivaLossTerms {
  /** Mean over pixels of (ε − ε_θ(x_t) + w·√(1−ᾱ_t)·g)². */
  mse: number;
  /** KL(qφ(z | x₀) ‖ N(0, I)) per example. */
  kl: number;
  /** mse + β·kl / pixels: the per-pixel β-DiVA objective (seed Eq. 10, λ_t = 1). */
  loss: number;
  /** The KL weight used (β, or less during `klWarmup`). */
  beta: number;
}

/** What a DiVA's training step reads and moves. */
export interface DivaTraining {
  config: DivaConfig;
  schedule: Schedule;
  weights: DivaWeights;
  /** EMA copies, keyed by checkpoint name. */
  ema: Record<string, tf.Variable>;
  /** Adam and the EMA as one step (one addon call on 'native', tfjs's Adam ops elsewhere). */
  optimizer: FusedAdamEma;
  /** The encoder's own optimiser when there is one (then `optimizer` moves the UNet only). */
  encOptimizer: FusedAdamEma | null;
  /** Optimiser steps taken. */
  step: number;
}

/** Whether a step is one of the plain-DDPM `pretrainSteps`. */
export function isPretraining(config: DivaConfig, step: number): boolean {
  return step < config.pretrainSteps;
}

/**
 * The KL weight at a step: 0 while pretraining, then β, annealed exponentially from β·1e-4
 * over the first `klWarmup` steps of DiVA training.
 */
export function divaBeta(config: DivaConfig, step: number): number {
  const { beta, klWarmup, pretrainSteps } = config;
  if (isPretraining(config, step)) return 0;
  const s = step - pretrainSteps;
  if (klWarmup === 0 || s >= klWarmup) return beta;
  return beta * Math.pow(10, -4 * (1 - s / klWarmup));
}

/**
 * Draws t ~ U{0..T-1}, ε and ε_z for a batch, seeded by the config's seed and the step, so
 * a model restored from a checkpoint draws what the saved one would have.
 */
export function drawDivaTerms(config: DivaConfig, batch: number, step: number): DivaDraws {
  const rng = createRng(((config.seed ^ 0xd1fa) + Math.imul(step, 0x9e3779b1)) >>> 0);
  const t = new Int32Array(batch);
  for (let i = 0; i < batch; i++) t[i] = rng.int(config.T);
  const S = config.size;
  return {
    t,
    noise: rng.normals(batch * S * S),
    latentNoise: rng.normals(batch * config.latentDim),
  };
}

/** The optimiser of the UNet (and of the encoder, unless it has its own). */
export function divaOptimizer(config: DivaConfig): FusedAdamEma {
  return new FusedAdamEma(config.lr);
}

/**
 * The encoder's own optimiser: with `encoderLr`, and with `pretrainSteps` (so that Adam starts
 * afresh, bias correction included, when the encoder starts training).
 */
export function divaEncoderOptimizer(config: DivaConfig): FusedAdamEma | null {
  const { encoderLr, pretrainSteps, lr } = config;
  if (encoderLr === null && pretrainSteps === 0) return null;
  return new FusedAdamEma(encoderLr ?? lr);
}

/**
 * The loss as scalar tensors on the live weights: x_t = √ᾱ x₀ + √(1−ᾱ) ε; z = μ₀ + σ₀ ε_z
 * with (μ₀, σ₀) = fφ(x₀); g = ∇ₓ log qφ(z | x_t); residual r = ε − ε_θ(x_t) + w·√(1−ᾱ_t)·g;
 * loss = mean(r²) + β·mean(KL)/(S·S). With w = 0 and β = 0 it is exactly the DDPM loss.
 */
export function divaLoss(
  m: Pick<DivaTraining, 'config' | 'schedule' | 'weights' | 'step'>,
  images: Float32Array,
  batch: number,
  draws: DivaDraws,
): { loss: tf.Scalar; mse: tf.Scalar; kl: tf.Scalar } {
  const c = m.config;
  const { unet, encoder, encoderConfig } = m.weights;
  const S = c.size;
  const ab = m.schedule.alphaBars;
  const a = new Float32Array(batch);
  const b = new Float32Array(batch);
  for (let i = 0; i < batch; i++) {
    a[i] = Math.sqrt(ab[draws.t[i]]);
    b[i] = Math.sqrt(1 - ab[draws.t[i]]);
  }
  const x0 = tf.tensor4d(images, [batch, S, S, 1]);
  const noise = tf.tensor4d(draws.noise, [batch, S, S, 1]);
  const bT = tf.tensor4d(b, [batch, 1, 1, 1]);
  const xt = tf.add<tf.Tensor4D>(tf.mul(x0, tf.tensor4d(a, [batch, 1, 1, 1])), tf.mul(noise, bT));
  const post0 = encode(encoderConfig, encoder, x0);
  const eps = unetApply(
    unet,
    xt,
    tf.tensor1d(draws.t, 'float32'),
    tf.zeros<tf.Rank.R2>([batch, 2]),
  ).eps;
  let resid: tf.Tensor = tf.sub(noise, eps);
  if (c.guidanceWeight !== 0 && !isPretraining(c, m.step)) {
    const z = tf.add<tf.Tensor2D>(
      post0.mu,
      tf.mul(post0.sigma, tf.tensor2d(draws.latentNoise, [batch, c.latentDim])),
    );
    const g = guidanceScore(encoderConfig, encoder, xt, z, tf.tensor1d(b));
    resid = tf.add(resid, tf.mul(tf.mul(g, bT), c.guidanceWeight));
  }
  const mse = tf.mean<tf.Scalar>(tf.square(resid));
  const kl = tf.mean<tf.Scalar>(klToPrior(post0));
  const loss = tf.add<tf.Scalar>(mse, tf.mul(kl, divaBeta(c, m.step) / (S * S)));
  return { loss, mse, kl };
}

/**
 * Names of the weights the optimiser moves at this step: the denoiser's while pretraining,
 * then only the encoder's when the denoiser is frozen, else all.
 */
function trainableNames(m: DivaTraining): string[] {
  const { names } = m.weights;
  if (isPretraining(m.config, m.step)) return names.filter(isDenoiserWeight);
  return m.config.freezeDenoiser ? names.filter((n) => !isDenoiserWeight(n)) : names;
}

/**
 * One Adam step on the β-DiVA loss (Algorithm 2) with its EMA update, at step `m.step` (the
 * caller counts it); returns the loss terms.
 */
export function divaTrainStep(m: DivaTraining, b: Batch): DivaLossTerms {
  const { config, weights, ema } = m;
  const draws = drawDivaTerms(config, b.batch, m.step);
  const names = trainableNames(m);
  const vars = names.map((n) => weights.params[n]);
  if (config.freezeDenoiser && m.step === config.pretrainSteps && m.step > 0) {
    // The pretrained denoiser is frozen as its EMA, which sampling uses (as `loadDenoiser`).
    for (const n of weights.names.filter(isDenoiserWeight)) weights.params[n].assign(ema[n]);
  }
  // Each optimiser and the weights it moves, always the same list (moments go by position);
  // an optimiser none of whose weights train at this step is not stepped.
  const groups: [FusedAdamEma, string[]][] = m.encOptimizer
    ? [
        [m.optimizer, weights.names.filter(isDenoiserWeight)],
        [m.encOptimizer, weights.names.filter((n) => !isDenoiserWeight(n))],
      ]
    : [[m.optimizer, names]];
  const [loss, mse, kl] = tf.tidy(() => {
    let terms: { mse: tf.Scalar; kl: tf.Scalar } | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const r = divaLoss(m, b.images, b.batch, draws);
      terms = { mse: tf.keep(r.mse), kl: tf.keep(r.kl) };
      return r.loss;
    }, vars);
    const active = new Set(names);
    for (const [optimizer, list] of groups) {
      if (!list.some((n) => active.has(n))) continue;
      const listedVars = list.map((n) => weights.params[n]);
      optimizer.step(
        listedVars,
        list.map((n, i) => (active.has(n) ? grads[listedVars[i].name] : undefined)),
        list.map((n) => ema[n]),
        config.emaDecay,
      );
    }
    const t = terms as unknown as { mse: tf.Scalar; kl: tf.Scalar };
    return [value, t.mse, t.kl];
  });
  const values = [loss.dataSync()[0], mse.dataSync()[0], kl.dataSync()[0]];
  tf.dispose([loss, mse, kl]);
  return { loss: values[0], mse: values[1], kl: values[2], beta: divaBeta(config, m.step) };
}
