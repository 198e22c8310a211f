import * as tf from '@tensorflow/tfjs';
import type {
  Batch,
  FeatureOptions,
  Model,
  ModelSample,
  Activation,
} from '../../streams/events.js';
import { FusedAdamEma } from '../backend/adam-ema.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { createEncoder, encode, encoderShapes, guidanceScore, klToPrior } from './diva/encoder.js';
import type { EncoderConfig } from './diva/encoder.js';
import { DivaSampler } from './diva/sampler.js';
import type { DivaGenerateOptions, DivaNetworks, Generated } from './diva/sampler.js';
import { createRng } from '../../streams/random.js';
import { makeSchedule } from './schedule.js';
import type { Schedule, ScheduleKind } from './schedule.js';
import { createUnet, resolveUnetConfig, unetApply, unetParamCount, unetShapes } from './unet.js';
import type { UnetConfig, UnetParams } from './unet.js';

export { DivaSampler } from './diva/sampler.js';
export type { DivaGenerateOptions, Generated } from './diva/sampler.js';

/** Everything that defines a DiVA (seed 001): denoiser, inference network, loss, optimiser. */
export interface DivaConfig {
  /** Image side in pixels; a multiple of 8 (the UNet pools three times). */
  size: number;
  /** The denoiser UNet's channel widths (it runs unconditionally: its label input is zero). */
  widths: [number, number, number];
  groups: number;
  encDim: number;
  condHidden: number;
  /** Diffusion steps. */
  T: number;
  schedule: ScheduleKind;
  /** Channels of the inference network's two 3×3 stride-2 convolutions. */
  encoderChannels: [number, number];
  /** Dimension of the latent z. */
  latentDim: number;
  /** Smallest posterior standard deviation. */
  sigmaFloor: number;
  /**
   * Tell the inference network the noise level √(1−ᾱ_t) of the image it encodes (a constant
   * second input channel; 0 for clean images). The seed's is blind to it (false).
   */
  encoderNoiseLevel: boolean;
  /** Weight of the KL term (β of β-DiVA, seed Eq. 10), per example and pixel (see `lossTerms`). */
  beta: number;
  /**
   * Steps over which the KL weight is annealed exponentially from β·1e-4 up to β (the seed
   * anneals it "from a number many orders of magnitude smaller"); 0 uses β from the start.
   */
  klWarmup: number;
  /** Weight w of the guidance score: ε_θφ = ε_θ − w·√(1−ᾱ_t)·g. 1 is the seed; 0 is a plain DDPM. */
  guidanceWeight: number;
  /** Train only the inference network on top of a fixed (pre-trained) denoiser (seed §3, CelebA-HQ). */
  freezeDenoiser: boolean;
  /**
   * Steps of plain DDPM training first (the denoiser alone, guidance weight 0, no KL); DiVA
   * training (Algorithm 2) starts after them. With `freezeDenoiser` this is the seed's frozen
   * variant in one run: a denoiser trained, then only the inference network. 0: none.
   */
  pretrainSteps: number;
  /** Adam learning rate. */
  lr: number;
  /**
   * The inference network's own Adam learning rate (null: `lr`). The encoder needs a large
   * one to leave the harmless state its first steps put it in, the denoiser a smaller one.
   */
  encoderLr: number | null;
  /** Decay of the exponential moving average of the weights used for sampling and probes. */
  emaDecay: number;
  /** Seeds the initial weights and the training draws. */
  seed: number;
}

export const DEFAULT_DIVA_CONFIG: DivaConfig = {
  size: 16,
  widths: [16, 32, 32],
  groups: 8,
  encDim: 16,
  condHidden: 32,
  T: 100,
  schedule: 'linear',
  encoderChannels: [16, 16],
  latentDim: 3,
  sigmaFloor: 1e-3,
  encoderNoiseLevel: false,
  beta: 1e-3,
  klWarmup: 0,
  guidanceWeight: 1,
  freezeDenoiser: false,
  pretrainSteps: 0,
  lr: 2e-3,
  encoderLr: null,
  emaDecay: 0.99,
  seed: 0,
};

/**
 * Completes and validates a DiVA config; throws a one-line error naming the bad field.
 * @example resolveDivaConfig({ latentDim: 4 }).beta // 1
 */
export function resolveDivaConfig(partial: Partial<DivaConfig> = {}): DivaConfig {
  const c: DivaConfig = { ...DEFAULT_DIVA_CONFIG, ...partial };
  const unet = resolveUnetConfig({ ...c, attention: false });
  const posInt = (v: unknown, max: number): boolean =>
    Number.isInteger(v) && (v as number) > 0 && (v as number) <= max;
  if (
    !Array.isArray(c.encoderChannels) ||
    c.encoderChannels.length !== 2 ||
    !c.encoderChannels.every((v) => posInt(v, 1024))
  ) {
    throw new Error(
      `diva.encoderChannels must be 2 integers in [1, 1024] (got ${JSON.stringify(c.encoderChannels)})`,
    );
  }
  if (!posInt(c.latentDim, 1024)) {
    throw new Error(`diva.latentDim must be an integer in [1, 1024] (got ${String(c.latentDim)})`);
  }
  if (!(typeof c.sigmaFloor === 'number' && c.sigmaFloor > 0 && c.sigmaFloor <= 1)) {
    throw new Error(`diva.sigmaFloor must be a number in (0, 1] (got ${String(c.sigmaFloor)})`);
  }
  if (!(typeof c.beta === 'number' && c.beta >= 0 && Number.isFinite(c.beta))) {
    throw new Error(`diva.beta must be a finite number >= 0 (got ${String(c.beta)})`);
  }
  if (!Number.isInteger(c.klWarmup) || c.klWarmup < 0) {
    throw new Error(
      `diva.klWarmup must be a non-negative integer of steps (got ${String(c.klWarmup)})`,
    );
  }
  if (!(typeof c.guidanceWeight === 'number' && c.guidanceWeight >= 0 && c.guidanceWeight <= 10)) {
    throw new Error(
      `diva.guidanceWeight must be a number in [0, 10] (got ${String(c.guidanceWeight)})`,
    );
  }
  if (typeof c.encoderNoiseLevel !== 'boolean') {
    throw new Error(
      `diva.encoderNoiseLevel must be true or false (got ${String(c.encoderNoiseLevel)})`,
    );
  }
  if (!Number.isInteger(c.pretrainSteps) || c.pretrainSteps < 0) {
    throw new Error(
      `diva.pretrainSteps must be a non-negative integer of steps (got ${String(c.pretrainSteps)})`,
    );
  }
  if (typeof c.freezeDenoiser !== 'boolean') {
    throw new Error(`diva.freezeDenoiser must be true or false (got ${String(c.freezeDenoiser)})`);
  }
  if (c.schedule !== 'cosine' && c.schedule !== 'linear') {
    throw new Error(`diva.schedule must be one of cosine, linear (got "${String(c.schedule)}")`);
  }
  if (!(typeof c.lr === 'number' && c.lr > 0 && c.lr <= 1)) {
    throw new Error(`diva.lr must be a number in (0, 1] (got ${String(c.lr)})`);
  }
  if (
    c.encoderLr !== null &&
    !(typeof c.encoderLr === 'number' && c.encoderLr > 0 && c.encoderLr <= 1)
  ) {
    throw new Error(
      `diva.encoderLr must be null or a number in (0, 1] (got ${String(c.encoderLr)})`,
    );
  }
  if (!(typeof c.emaDecay === 'number' && c.emaDecay >= 0 && c.emaDecay < 1)) {
    throw new Error(`diva.emaDecay must be a number in [0, 1) (got ${String(c.emaDecay)})`);
  }
  if (!Number.isInteger(c.seed))
    throw new Error(`diva.seed must be an integer (got ${String(c.seed)})`);
  return {
    ...c,
    size: unet.size,
    widths: unet.widths,
    groups: unet.groups,
    encDim: unet.encDim,
    condHidden: unet.condHidden,
    T: unet.T,
    encoderChannels: [...c.encoderChannels] as [number, number],
  };
}

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

const UNET_PREFIX = 'unet.';

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
  private readonly unet: UnetParams<tf.Variable>;
  private readonly encoder: Record<string, tf.Variable>;
  private readonly encoderConfig: EncoderConfig;
  /** EMA copies, keyed by checkpoint name ('unet.stem.w', 'enc.conv1.w', …). */
  private readonly ema: Record<string, tf.Variable> = {};
  private readonly names: string[];
  /** Adam and the EMA as one step (one addon call on 'native', tfjs's Adam ops elsewhere). */
  private optimizer: FusedAdamEma;
  /** The encoder's own optimiser when `encoderLr` is set (then `optimizer` moves the UNet only). */
  private encOptimizer: FusedAdamEma | null;
  private disposed = false;
  /** The terms of the last training step's loss. */
  lastTerms: DivaLossTerms | null = null;

  constructor(config: Partial<DivaConfig> = {}) {
    this.config = resolveDivaConfig(config);
    const c = this.config;
    this.schedule = makeSchedule({ kind: c.schedule, T: c.T });
    this.unet = createUnet({ ...this.unetConfig() }, c.seed);
    this.encoderConfig = {
      size: c.size,
      channels: c.encoderChannels,
      latentDim: c.latentDim,
      sigmaFloor: c.sigmaFloor,
      noiseInput: c.encoderNoiseLevel,
    };
    this.encoder = createEncoder(this.encoderConfig, c.seed);
    this.names = [
      ...unetShapes(this.unet.config).map(([n]) => UNET_PREFIX + n),
      ...encoderShapes(this.encoderConfig).map(([n]) => n),
    ];
    for (const n of this.names) this.ema[n] = tf.variable(this.variable(n), false);
    this.paramCount =
      unetParamCount(this.unet.config) +
      encoderShapes(this.encoderConfig).reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0);
    this.optimizer = this.makeOptimizer();
    this.encOptimizer = this.makeEncOptimizer();
  }

  private unetConfig(): UnetConfig {
    const c = this.config;
    return {
      size: c.size,
      widths: c.widths,
      groups: c.groups,
      attention: false,
      encDim: c.encDim,
      condHidden: c.condHidden,
      T: c.T,
    };
  }

  private variable(name: string): tf.Variable {
    const v = name.startsWith(UNET_PREFIX)
      ? this.unet.weights[name.slice(UNET_PREFIX.length)]
      : this.encoder[name];
    if (!v) throw new Error(`diva has no weight "${name}"`);
    return v;
  }

  /** Whether a step is one of the plain-DDPM `pretrainSteps`. */
  private pretraining(step = this.step): boolean {
    return step < this.config.pretrainSteps;
  }

  /**
   * Names of the weights the optimiser moves at this step: the denoiser's while pretraining,
   * then only the encoder's when the denoiser is frozen, else all.
   */
  private trainableNames(): string[] {
    if (this.pretraining()) return this.names.filter((n) => n.startsWith(UNET_PREFIX));
    return this.config.freezeDenoiser
      ? this.names.filter((n) => !n.startsWith(UNET_PREFIX))
      : this.names;
  }

  private makeOptimizer(): FusedAdamEma {
    return new FusedAdamEma(this.config.lr);
  }

  /**
   * The encoder's own optimiser: with `encoderLr`, and with `pretrainSteps` (so that Adam starts
   * afresh, bias correction included, when the encoder starts training).
   */
  private makeEncOptimizer(): FusedAdamEma | null {
    const { encoderLr, pretrainSteps, lr } = this.config;
    if (encoderLr === null && pretrainSteps === 0) return null;
    return new FusedAdamEma(encoderLr ?? lr);
  }

  /**
   * Draws t ~ U{0..T-1}, ε and ε_z for a batch, seeded by the config's seed and the step, so
   * a model restored by `load` draws what the saved one would have.
   */
  drawTerms(batch: number, step = this.step): DivaDraws {
    const rng = createRng(((this.config.seed ^ 0xd1fa) + Math.imul(step, 0x9e3779b1)) >>> 0);
    const t = new Int32Array(batch);
    for (let i = 0; i < batch; i++) t[i] = rng.int(this.config.T);
    const S = this.config.size;
    return {
      t,
      noise: rng.normals(batch * S * S),
      latentNoise: rng.normals(batch * this.config.latentDim),
    };
  }

  /**
   * The loss as a scalar tensor on the live weights: x_t = √ᾱ x₀ + √(1−ᾱ) ε; z = μ₀ + σ₀ ε_z
   * with (μ₀, σ₀) = fφ(x₀); g = ∇ₓ log qφ(z | x_t); residual r = ε − ε_θ(x_t) + w·√(1−ᾱ_t)·g;
   * loss = mean(r²) + β·mean(KL)/(S·S). With w = 0 and β = 0 it is exactly the DDPM loss.
   */
  /**
   * The KL weight at a step: 0 while pretraining, then β, annealed exponentially from β·1e-4
   * over the first `klWarmup` steps of DiVA training.
   */
  betaAt(step = this.step): number {
    const { beta, klWarmup, pretrainSteps } = this.config;
    if (this.pretraining(step)) return 0;
    const s = step - pretrainSteps;
    if (klWarmup === 0 || s >= klWarmup) return beta;
    return beta * Math.pow(10, -4 * (1 - s / klWarmup));
  }

  private lossTensors(
    images: Float32Array,
    batch: number,
    draws: DivaDraws,
  ): { loss: tf.Scalar; mse: tf.Scalar; kl: tf.Scalar } {
    const c = this.config;
    const S = c.size;
    const ab = this.schedule.alphaBars;
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
    const post0 = encode(this.encoderConfig, this.encoder, x0);
    const eps = unetApply(
      this.unet,
      xt,
      tf.tensor1d(draws.t, 'float32'),
      tf.zeros<tf.Rank.R2>([batch, 2]),
    ).eps;
    let resid: tf.Tensor = tf.sub(noise, eps);
    if (c.guidanceWeight !== 0 && !this.pretraining()) {
      const z = tf.add<tf.Tensor2D>(
        post0.mu,
        tf.mul(post0.sigma, tf.tensor2d(draws.latentNoise, [batch, c.latentDim])),
      );
      const g = guidanceScore(this.encoderConfig, this.encoder, xt, z, tf.tensor1d(b));
      resid = tf.add(resid, tf.mul(tf.mul(g, bT), c.guidanceWeight));
    }
    const mse = tf.mean<tf.Scalar>(tf.square(resid));
    const kl = tf.mean<tf.Scalar>(klToPrior(post0));
    const loss = tf.add<tf.Scalar>(mse, tf.mul(kl, this.betaAt() / (S * S)));
    return { loss, mse, kl };
  }

  /** The loss terms on the live weights for given draws (no update): for tests and probes. */
  lossTerms(b: Batch, draws: DivaDraws): DivaLossTerms {
    this.assertLive();
    this.checkBatch(b);
    const [loss, mse, kl] = tf.tidy(() => {
      const r = this.lossTensors(b.images, b.batch, draws);
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
    const draws = this.drawTerms(b.batch);
    const names = this.trainableNames();
    const vars = names.map((n) => this.variable(n));
    if (this.config.freezeDenoiser && this.step === this.config.pretrainSteps && this.step > 0) {
      // The pretrained denoiser is frozen as its EMA, which sampling uses (as `loadDenoiser`).
      for (const n of this.names) {
        if (n.startsWith(UNET_PREFIX)) this.variable(n).assign(this.ema[n]);
      }
    }
    // Each optimiser and the weights it moves, always the same list (moments go by position);
    // an optimiser none of whose weights train at this step is not stepped.
    const groups: [FusedAdamEma, string[]][] = this.encOptimizer
      ? [
          [this.optimizer, this.names.filter((n) => n.startsWith(UNET_PREFIX))],
          [this.encOptimizer, this.names.filter((n) => !n.startsWith(UNET_PREFIX))],
        ]
      : [[this.optimizer, names]];
    const [loss, mse, kl] = tf.tidy(() => {
      let terms: { mse: tf.Scalar; kl: tf.Scalar } | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const r = this.lossTensors(b.images, b.batch, draws);
        terms = { mse: tf.keep(r.mse), kl: tf.keep(r.kl) };
        return r.loss;
      }, vars);
      const active = new Set(names);
      for (const [optimizer, list] of groups) {
        if (!list.some((n) => active.has(n))) continue;
        const listedVars = list.map((n) => this.variable(n));
        optimizer.step(
          listedVars,
          list.map((n, i) => (active.has(n) ? grads[listedVars[i].name] : undefined)),
          list.map((n) => this.ema[n]),
          this.config.emaDecay,
        );
      }
      const t = terms as unknown as { mse: tf.Scalar; kl: tf.Scalar };
      return [value, t.mse, t.kl];
    });
    const values = [loss.dataSync()[0], mse.dataSync()[0], kl.dataSync()[0]];
    tf.dispose([loss, mse, kl]);
    this.lastTerms = { loss: values[0], mse: values[1], kl: values[2], beta: this.betaAt() };
    this.step++;
    return values[0];
  }

  private networks(weights: Record<string, tf.Tensor>): DivaNetworks {
    const unet: Record<string, tf.Tensor> = {};
    const enc: Record<string, tf.Tensor> = {};
    for (const [n, t] of Object.entries(weights)) {
      if (n.startsWith(UNET_PREFIX)) unet[n.slice(UNET_PREFIX.length)] = t;
      else enc[n] = t;
    }
    return {
      unet: { config: this.unet.config, weights: unet },
      encoder: enc,
      encoderConfig: this.encoderConfig,
      schedule: this.schedule,
      guidanceWeight: this.config.guidanceWeight,
    };
  }

  /** A sampler on a copy of the EMA weights as they are now (see `DivaSampler`). */
  freeze(): DivaSampler {
    this.assertLive();
    const copy: Record<string, tf.Tensor> = {};
    for (const n of this.names) copy[n] = tf.clone(this.ema[n]);
    return new DivaSampler(this.step, this.networks(copy), true);
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
    const entries: { name: string; group: string; tensor: tf.Tensor }[] = [];
    for (const n of this.names) entries.push({ name: n, group: 'param', tensor: this.variable(n) });
    for (const n of this.names) entries.push({ name: n, group: 'ema', tensor: this.ema[n] });
    const adam = await this.optimizer.getWeights();
    adam.forEach((w, i) => entries.push({ name: `adam.${i}`, group: 'adam', tensor: w.tensor }));
    const adamEnc = this.encOptimizer ? await this.encOptimizer.getWeights() : [];
    adamEnc.forEach((w, i) =>
      entries.push({ name: `adam-enc.${i}`, group: 'adam-enc', tensor: w.tensor }),
    );
    try {
      await writeCheckpoint(
        dir,
        { format: 'phasewatch-diva', version: 1, config: this.config, step: this.step },
        entries,
      );
    } finally {
      // getWeights hands back a fresh iterations scalar; the moments are the optimiser's own.
      if (adam.length > 0) adam[0].tensor.dispose();
      if (adamEnc.length > 0) adamEnc[0].tensor.dispose();
    }
  }

  /** Restores what `save` wrote; the directory's config must describe the same networks. */
  async load(dir: string): Promise<void> {
    this.assertLive();
    const { manifest, values } = await readCheckpoint(dir, ['phasewatch-diva']);
    const theirs = resolveDivaConfig(manifest.config as Partial<DivaConfig>);
    const shapeKey = (c: DivaConfig): string =>
      JSON.stringify([
        c.size,
        c.widths,
        c.encDim,
        c.condHidden,
        c.T,
        c.encoderChannels,
        c.latentDim,
        c.encoderNoiseLevel,
      ]);
    if (shapeKey(theirs) !== shapeKey(this.config)) {
      throw new Error(`model in ${dir} has a different architecture than this DiVA`);
    }
    const adam: { name: string; tensor: tf.Tensor }[] = [];
    const adamEnc: { name: string; tensor: tf.Tensor }[] = [];
    for (const t of manifest.tensors) {
      if (t.group === 'adam' || t.group === 'adam-enc') {
        (t.group === 'adam' ? adam : adamEnc).push({
          name: t.name,
          tensor: tf.tensor(values(t), t.shape),
        });
        continue;
      }
      const target = t.group === 'param' ? this.variable(t.name) : this.ema[t.name];
      if (!target) throw new Error(`model.json in ${dir} names an unknown tensor "${t.name}"`);
      tf.tidy(() => target.assign(tf.tensor(values(t), t.shape)));
    }
    this.optimizer.dispose();
    this.optimizer = this.makeOptimizer();
    if (adam.length > 0) {
      await this.optimizer.setWeights(adam);
      tf.dispose(adam.map((a) => a.tensor));
    }
    this.encOptimizer?.dispose();
    this.encOptimizer = this.makeEncOptimizer();
    if (this.encOptimizer && adamEnc.length > 0) await this.encOptimizer.setWeights(adamEnc);
    tf.dispose(adamEnc.map((a) => a.tensor));
    this.step = Number(manifest.step) || 0;
  }

  /**
   * Loads only the denoiser from a checkpoint — a DiVA's, or a UNet DDPM's with the same UNet
   * shape — taking its EMA weights as both weights and EMA (the pre-trained denoiser of the
   * seed's frozen variant). A DDPM trained with labels is then run with zero labels.
   */
  async loadDenoiser(dir: string): Promise<void> {
    this.assertLive();
    const { manifest, values } = await readCheckpoint(dir, ['phasewatch-diva', 'phasewatch-ddpm']);
    const prefix = manifest.format === 'phasewatch-diva' ? UNET_PREFIX : '';
    const wanted = new Map(unetShapes(this.unet.config).map(([n, s]) => [n, s]));
    const group = manifest.tensors.some((t) => t.group === 'ema') ? 'ema' : 'param';
    let found = 0;
    for (const t of manifest.tensors) {
      if (t.group !== group || !t.name.startsWith(prefix)) continue;
      const name = t.name.slice(prefix.length);
      const shape = wanted.get(name);
      if (!shape) continue;
      if (JSON.stringify(shape) !== JSON.stringify(t.shape)) {
        throw new Error(
          `denoiser in ${dir}: ${name} has shape [${t.shape.join(', ')}], this DiVA needs [${shape.join(', ')}]`,
        );
      }
      tf.tidy(() => {
        const v = tf.tensor(values(t), t.shape);
        this.unet.weights[name].assign(v);
        this.ema[UNET_PREFIX + name].assign(v);
      });
      found++;
    }
    if (found !== wanted.size) {
      throw new Error(
        `denoiser in ${dir} holds ${found} of the ${wanted.size} UNet weights this DiVA needs`,
      );
    }
  }

  /** Frees every tensor this model holds. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(Object.values(this.unet.weights));
    tf.dispose(Object.values(this.encoder));
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
