import * as tf from '@tensorflow/tfjs';
import type {
  Activation,
  Batch,
  FeatureOptions,
  Model,
  ModelSample,
} from '../../streams/events.js';
import type { FusedAdamEma } from '../backend/adam-ema.js';
import { makeSchedule } from './schedule.js';
import type { Schedule } from './schedule.js';
import { loadDiva, loadDivaDenoiser, saveDiva } from './diva/checkpoint.js';
import { resolveDivaConfig } from './diva/config.js';
import type { DivaConfig } from './diva/config.js';
import { createDivaWeights, divaNetworks } from './diva/network.js';
import type { DivaWeights } from './diva/network.js';
import { DivaSampler } from './diva/sampler.js';
import type { DivaGenerateOptions, Generated } from './diva/sampler.js';
import {
  divaBeta,
  divaEncoderOptimizer,
  divaLoss,
  divaOptimizer,
  divaTrainStep,
  drawDivaTerms,
} from './diva/train-step.js';
import type { DivaDraws, DivaLossTerms } from './diva/train-step.js';

// The model's parts, one job a file under diva/: config, the two networks, the training
// step, the sampler, the checkpoint.
export { DEFAULT_DIVA_CONFIG, resolveDivaConfig } from './diva/config.js';
export type { DivaConfig } from './diva/config.js';
export { DivaSampler } from './diva/sampler.js';
export type { DivaGenerateOptions, Generated } from './diva/sampler.js';
export type { DivaDraws, DivaLossTerms } from './diva/train-step.js';

/**
 * DiVA, the diffusion variational autoencoder of seed 001, as a phasewatch `Model`: an
 * unconditional UNet denoiser ε_θ (the engine's UNet with a zero label input) and an inference
 * network fφ(x) → (μ, σ) over a low-dimensional z. The guidance score g = ∇ₓ log qφ(z | x_t)
 * comes from `tf.grad` through fφ; training minimises (Algorithm 2, signs of Eq. 10)
 * ‖ε − ε_θ(x_t) + w·√(1−ᾱ_t)·g‖² + β·KL(qφ(z | x₀) ‖ N(0, I)), differentiating through the
 * gradient g into φ. Labels in a batch are ignored: the model is unsupervised.
 *
 * `sample(conditions)` takes guide images (N*S*S values) and follows Algorithm 1 (encode,
 * draw z, guided reverse process); `generate(z)` takes latents directly, or none.
 *
 * @example
 * const m = diva({ size: 16, latentDim: 3 });
 * training(m, disks({ size: 16 }), { steps: 2000 }).subscribe();
 * const out = await m.sample(guides, { seed: 1 }); // samples that resemble each guide
 */
export class Diva implements Model {
  readonly kind = 'diva';
  readonly config: DivaConfig;
  readonly paramCount: number;
  readonly schedule: Schedule;
  step = 0;
  private readonly weights: DivaWeights;
  /** EMA copies, keyed by checkpoint name ('unet.stem.w', 'enc.conv1.w', …). */
  private readonly ema: Record<string, tf.Variable> = {};
  /** Adam and the EMA as one step (one addon call on 'native', tfjs's Adam ops elsewhere). */
  private optimizer: FusedAdamEma;
  /** The encoder's own optimiser when `encoderLr` is set (then `optimizer` moves the UNet only). */
  private encOptimizer: FusedAdamEma | null;
  private disposed = false;
  /** The terms of the last training step's loss. */
  lastTerms: DivaLossTerms | null = null;

  constructor(config: Partial<DivaConfig> = {}) {
    this.config = resolveDivaConfig(config);
    this.schedule = makeSchedule({ kind: this.config.schedule, T: this.config.T });
    this.weights = createDivaWeights(this.config);
    for (const n of this.weights.names) {
      this.ema[n] = tf.variable(this.weights.params[n], false);
    }
    this.paramCount = this.weights.paramCount;
    this.optimizer = divaOptimizer(this.config);
    this.encOptimizer = divaEncoderOptimizer(this.config);
  }

  /** What the training step and the checkpoint read and move. */
  private get training() {
    const { config, schedule, weights, ema, optimizer, encOptimizer, step } = this;
    return { config, schedule, weights, ema, optimizer, encOptimizer, step };
  }

  /**
   * Draws t ~ U{0..T-1}, ε and ε_z for a batch, seeded by the config's seed and the step, so
   * a model restored by `load` draws what the saved one would have.
   */
  drawTerms(batch: number, step = this.step): DivaDraws {
    return drawDivaTerms(this.config, batch, step);
  }

  /**
   * The KL weight at a step: 0 while pretraining, then β, annealed exponentially from β·1e-4
   * over the first `klWarmup` steps of DiVA training.
   */
  betaAt(step = this.step): number {
    return divaBeta(this.config, step);
  }

  /** The loss terms on the live weights for given draws (no update): for tests and probes. */
  lossTerms(b: Batch, draws: DivaDraws): DivaLossTerms {
    this.assertLive();
    this.checkBatch(b);
    const [loss, mse, kl] = tf.tidy(() => {
      const r = divaLoss(this.training, b.images, b.batch, draws);
      return [r.loss, r.mse, r.kl];
    });
    const out = {
      loss: loss.dataSync()[0],
      mse: mse.dataSync()[0],
      kl: kl.dataSync()[0],
      beta: this.betaAt(),
    };
    tf.dispose([loss, mse, kl]);
    return out;
  }

  private checkBatch(b: Batch): void {
    const S = this.config.size;
    if (!b || !Number.isInteger(b.batch) || b.batch < 1) {
      throw new Error(`batch.batch must be a positive integer (got ${String(b?.batch)})`);
    }
    if (!(b.images instanceof Float32Array) || b.images.length !== b.batch * S * S) {
      throw new Error(
        `batch.images must hold batch*${S}*${S} = ${b.batch * S * S} values (got ${b.images?.length})`,
      );
    }
  }

  /** One Adam step on the β-DiVA loss (Algorithm 2); updates the EMA; returns the loss. */
  trainStep(b: Batch): number {
    this.assertLive();
    this.checkBatch(b);
    this.lastTerms = divaTrainStep(this.training, b);
    this.step++;
    return this.lastTerms.loss;
  }

  /** A sampler on a copy of the EMA weights as they are now (see `DivaSampler`). */
  freeze(): DivaSampler {
    this.assertLive();
    const copy: Record<string, tf.Tensor> = {};
    for (const n of this.weights.names) copy[n] = tf.clone(this.ema[n]);
    const nets = divaNetworks(this.weights, copy, this.schedule, this.config.guidanceWeight);
    return new DivaSampler(this.step, nets, true);
  }

  private async withFrozen<R>(fn: (s: DivaSampler) => Promise<R>): Promise<R> {
    const s = this.freeze();
    try {
      return await fn(s);
    } finally {
      s.dispose();
    }
  }

  /** Algorithm 1 on guide images (N*S*S values): see `DivaSampler.sample`. */
  sample(conditions: Float32Array, opts: DivaGenerateOptions): Promise<ModelSample> {
    return this.withFrozen((s) => s.sample(conditions, opts));
  }

  /** The reverse process guided towards latents z (N*latentDim), or unguided for null. */
  generate(z: Float32Array | null, n: number, opts: DivaGenerateOptions): Promise<Generated> {
    return this.withFrozen((s) => s.generate(z, n, opts));
  }

  /** The posterior (μ, σ) of each image under the EMA encoder. */
  encode(images: Float32Array): Promise<{ mu: Float32Array; sigma: Float32Array }> {
    return this.withFrozen((s) => s.encode(images));
  }

  features(
    examples: Float32Array,
    t: number,
    opts: FeatureOptions,
  ): Promise<Record<string, Activation>> {
    return this.withFrozen((s) => s.features(examples, t, opts));
  }

  /** Writes weights, EMA and Adam state (`weights.bin`) and `model.json`. */
  async save(dir: string): Promise<void> {
    this.assertLive();
    await saveDiva(dir, this.training);
  }

  /** Restores what `save` wrote; the directory's config must describe the same networks. */
  async load(dir: string): Promise<void> {
    this.assertLive();
    const { step, optimizer, encOptimizer } = await loadDiva(dir, this.training);
    this.optimizer = optimizer;
    this.encOptimizer = encOptimizer;
    this.step = step;
  }

  /**
   * Loads only the denoiser from a checkpoint — a DiVA's, or a UNet DDPM's with the same UNet
   * shape — taking its EMA weights as both weights and EMA (the pre-trained denoiser of the
   * seed's frozen variant). A DDPM trained with labels is then run with zero labels.
   */
  async loadDenoiser(dir: string): Promise<void> {
    this.assertLive();
    await loadDivaDenoiser(dir, this.weights, this.ema);
  }

  /** Frees every tensor this model holds. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(Object.values(this.weights.params));
    tf.dispose(Object.values(this.ema));
    this.optimizer.dispose();
    this.encOptimizer?.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('this Diva has been disposed');
  }
}

/** A DiVA `Model` (see `Diva`). */
export function diva(config: Partial<DivaConfig> = {}): Diva {
  return new Diva(config);
}
