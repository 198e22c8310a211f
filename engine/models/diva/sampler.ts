import * as tf from '@tensorflow/tfjs';
import type {
  Activation,
  FeatureOptions,
  ModelSample,
  ModelSampleOptions,
  Sampler,
} from '../../../streams/events.js';
import { ddimTimes, reverseStep } from '../ddpm.js';
import { createRng } from '../../../streams/random.js';
import type { Schedule } from '../schedule.js';
import { unetApply } from '../unet.js';
import type { UnetParams } from '../unet.js';
import { encode, guidanceScore } from './encoder.js';
import type { EncoderConfig, EncoderWeights } from './encoder.js';

/** The two networks of a DiVA at one moment, as plain tensors. */
export interface DivaNetworks {
  unet: UnetParams;
  encoder: EncoderWeights;
  encoderConfig: EncoderConfig;
  schedule: Schedule;
  /** Weight of the guidance score in ε_θφ = ε_θ − w·√(1−ᾱ_t)·g (1 in the seed). */
  guidanceWeight: number;
}

export interface DivaGenerateOptions extends ModelSampleOptions {
  /**
   * 'ddim' (default): `steps` deterministic steps with the guided noise estimate
   * ε_θ − w·√(1−ᾱ_t)·g (Eq. 8). 'ddpm': all T ancestral steps with the same estimate, whose mean
   * is the seed's A.2 derivation, μ_θ + w·(1−α_t)/√α_t·g. 'algorithm1': all T ancestral steps
   * as the seed's Algorithm 1 writes them, the unguided step's mean shifted by w·√(1−α_t)·g —
   * √(α_t/(1−α_t)) times A.2's shift (2× to 30× for T = 100), i.e. a much stronger guidance.
   */
  method?: 'ddim' | 'ddpm' | 'algorithm1';
  /** Scales the guidance score; default the model's guidanceWeight; 0 samples unconditionally. */
  guidance?: number;
  /** Clip each step's predicted clean image to [-1, 1] (default true). */
  clipX0?: boolean;
  /** Samples per pass (default 64), to bound memory. */
  chunk?: number;
}

/** What `generate` returns: images, and the encoder's posterior mean of each image. */
export interface Generated {
  images: Float32Array;
  /** N * latentDim posterior means μφ(x̂₀) of the generated images. */
  mu: Float32Array;
}

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Sampling and encoding with one fixed set of DiVA weights (a frozen copy, or the live EMA
 * for a one-off call). `sample(guides)` follows the seed's Algorithm 1: each guide image is
 * encoded, z = μ₀ + σ₀·ε is drawn, and the reverse process is guided by g = ∇ₓ log qφ(z | x_t).
 */
export class DivaSampler implements Sampler {
  private live = true;

  constructor(
    readonly step: number,
    private readonly nets: DivaNetworks,
    /** Whether `dispose` frees the networks' tensors (true for a frozen copy). */
    private readonly owned: boolean,
  ) {}

  get latentDim(): number {
    return this.nets.encoderConfig.latentDim;
  }

  get size(): number {
    return this.nets.encoderConfig.size;
  }

  /** Posterior mean and standard deviation of each image (N*S*S values) → N*latentDim each. */
  async encode(
    images: Float32Array,
    level = 0,
  ): Promise<{ mu: Float32Array; sigma: Float32Array }> {
    this.assertLive();
    const n = this.count(images, 'images');
    const S = this.size;
    const [mu, sigma] = tf.tidy(() => {
      const p = encode(
        this.nets.encoderConfig,
        this.nets.encoder,
        tf.tensor4d(images, [n, S, S, 1]),
        level,
      );
      return [p.mu, p.sigma];
    });
    try {
      return { mu: (await mu.data()) as Float32Array, sigma: (await sigma.data()) as Float32Array };
    } finally {
      mu.dispose();
      sigma.dispose();
    }
  }

  /**
   * Algorithm 1: `conditions` holds N guide images (N*S*S values in [-1, 1]); returns N samples
   * and, as activations, `z` (the drawn guiding latents) and `mu` (posterior means of the samples).
   */
  async sample(conditions: Float32Array, opts: DivaGenerateOptions): Promise<ModelSample> {
    this.assertLive();
    const n = this.count(conditions, 'conditions (guide images)');
    const d = this.latentDim;
    const { mu, sigma } = await this.encode(conditions);
    const rng = createRng((opts.seed ^ 0x2a7e) >>> 0);
    const z = new Float32Array(n * d);
    for (let i = 0; i < n * d; i++) z[i] = mu[i] + sigma[i] * rng.normal();
    const out = await this.generate(z, n, opts);
    return {
      images: out.images,
      activations: { z: { data: z, dim: d }, mu: { data: out.mu, dim: d } },
    };
  }

  /**
   * Runs the reverse process for n images guided towards the latents `z` (N*latentDim), or
   * unguided when `z` is null. Deterministic for a seed.
   */
  async generate(z: Float32Array | null, n: number, opts: DivaGenerateOptions): Promise<Generated> {
    this.assertLive();
    const { unet, encoder, encoderConfig: ec, schedule } = this.nets;
    const S = ec.size;
    const d = ec.latentDim;
    const T = schedule.T;
    const method = opts.method ?? 'ddim';
    if (method !== 'ddim' && method !== 'ddpm' && method !== 'algorithm1') {
      throw new Error(
        `sample method must be one of ddim, ddpm, algorithm1 (got "${String(method)}")`,
      );
    }
    const steps = opts.steps ?? 20;
    if (method === 'ddim' && (!Number.isInteger(steps) || steps < 1 || steps > T)) {
      throw new Error(`sample steps must be an integer in [1, ${T}] (got ${String(steps)})`);
    }
    const w = opts.guidance ?? this.nets.guidanceWeight;
    if (typeof w !== 'number' || !Number.isFinite(w)) {
      throw new Error(`sample guidance must be a finite number (got ${String(w)})`);
    }
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`sample count must be a non-negative integer (got ${n})`);
    if (z !== null && z.length !== n * d) {
      throw new Error(`sample z must hold N*${d} = ${n * d} values (got ${z.length})`);
    }
    const chunk = opts.chunk ?? 64;
    if (!Number.isInteger(chunk) || chunk < 1) {
      throw new Error(`sample chunk must be a positive integer (got ${String(chunk)})`);
    }
    const clip = opts.clipX0 ?? true;
    const times =
      method === 'ddim' ? ddimTimes(T, steps) : Array.from({ length: T }, (_, i) => T - 1 - i);
    const rng = createRng(opts.seed >>> 0);
    const images = new Float32Array(n * S * S);
    const mus = new Float32Array(n * d);
    for (let start = 0; start < n; start += chunk) {
      const m = Math.min(chunk, n - start);
      const zc = z && w !== 0 ? tf.tensor2d(z.subarray(start * d, (start + m) * d), [m, d]) : null;
      const noLabels = tf.zeros<tf.Rank.R2>([m, 2]);
      let x = tf.tensor4d(rng.normals(m * S * S), [m, S, S, 1]);
      try {
        for (let i = 0; i < times.length; i++) {
          const t = times[i];
          const tPrev = i + 1 < times.length ? times[i + 1] : -1;
          const noise = method !== 'ddim' && tPrev >= 0 ? rng.normals(m * S * S) : undefined;
          const next = tf.tidy(() => {
            let eps: tf.Tensor4D = unetApply(unet, x, tf.fill<tf.Rank.R1>([m], t), noLabels).eps;
            if (zc && method === 'algorithm1') {
              // x_{t-1} ~ N(μ_θ(x_t) + w·√(1−α_t)·g, ·)  (seed Algorithm 1)
              const g = guidanceScore(ec, encoder, x, zc, Math.sqrt(1 - schedule.alphaBars[t]));
              const step = reverseStep(schedule, x, eps, t, tPrev, clip, 'ddpm', noise);
              return tf.add<tf.Tensor4D>(step, tf.mul(g, w * Math.sqrt(schedule.betas[t])));
            }
            if (zc) {
              // ε_θφ = ε_θ − w·√(1−ᾱ_t)·g  (seed Eq. 8)
              const g = guidanceScore(ec, encoder, x, zc, Math.sqrt(1 - schedule.alphaBars[t]));
              eps = tf.sub(eps, tf.mul(g, w * Math.sqrt(1 - schedule.alphaBars[t])));
            }
            return reverseStep(
              schedule,
              x,
              eps,
              t,
              tPrev,
              clip,
              method === 'ddim' ? 'ddim' : 'ddpm',
              noise,
            );
          });
          x.dispose();
          x = next;
          await nextTick();
        }
        images.set(await x.data(), start * S * S);
        const muT = tf.tidy(() => encode(ec, encoder, x).mu);
        mus.set(await muT.data(), start * d);
        muT.dispose();
      } finally {
        x.dispose();
        noLabels.dispose();
        zc?.dispose();
      }
    }
    return { images, mu: mus };
  }

  /**
   * The model's own conditional-vs-unconditional test, free of sampler artefacts: clean
   * examples are noised to the timesteps at `fractions` of T; with z drawn from qφ(z | x₀) the
   * mean squared error of the guided noise estimate ε_θ − w·√(1−ᾱ_t)·g and of the unguided
   * ε_θ against the true noise (averaged over timesteps, examples and pixels).
   */
  async denoiseMse(
    examples: Float32Array,
    fractions: number[],
    seed: number,
  ): Promise<{ guided: number; unguided: number }> {
    this.assertLive();
    const n = this.count(examples, 'examples');
    const { unet, encoder, encoderConfig: ec, schedule, guidanceWeight: w } = this.nets;
    const S = ec.size;
    const rng = createRng(seed >>> 0);
    let guided = 0;
    let unguided = 0;
    for (const f of fractions) {
      if (!(f >= 0 && f <= 1)) throw new Error(`denoiseMse fractions must be in [0, 1] (got ${f})`);
      const t = Math.min(schedule.T - 1, Math.round(f * (schedule.T - 1)));
      const ab = schedule.alphaBars[t];
      const noise = rng.normals(n * S * S);
      const latentNoise = rng.normals(n * ec.latentDim);
      const [gm, um] = tf.tidy((): tf.Scalar[] => {
        const x0 = tf.tensor4d(examples, [n, S, S, 1]);
        const eps = tf.tensor4d(noise, [n, S, S, 1]);
        const xt = tf.add<tf.Tensor4D>(tf.mul(x0, Math.sqrt(ab)), tf.mul(eps, Math.sqrt(1 - ab)));
        const pred = unetApply(
          unet,
          xt,
          tf.fill<tf.Rank.R1>([n], t),
          tf.zeros<tf.Rank.R2>([n, 2]),
        ).eps;
        const p0 = encode(ec, encoder, x0);
        const z = tf.add<tf.Tensor2D>(
          p0.mu,
          tf.mul(p0.sigma, tf.tensor2d(latentNoise, [n, ec.latentDim])),
        );
        const g = guidanceScore(ec, encoder, xt, z, Math.sqrt(1 - ab));
        const guidedPred = tf.sub(pred, tf.mul(g, w * Math.sqrt(1 - ab)));
        return [
          tf.mean<tf.Scalar>(tf.square(tf.sub(eps, guidedPred))),
          tf.mean<tf.Scalar>(tf.square(tf.sub(eps, pred))),
        ];
      });
      guided += (await gm.data())[0] / fractions.length;
      unguided += (await um.data())[0] / fractions.length;
      tf.dispose([gm, um]);
    }
    return { guided, unguided };
  }

  /**
   * For probes: the encoder's posterior (`mu`, `sigma`) of the examples, noised to timestep t
   * (`noisy`, the default) or clean. `conditions` is ignored (the encoder is unconditional).
   */
  async features(
    examples: Float32Array,
    t: number,
    opts: FeatureOptions,
  ): Promise<Record<string, Activation>> {
    this.assertLive();
    const T = this.nets.schedule.T;
    if (!Number.isInteger(t) || t < 0 || t >= T) {
      throw new Error(`features t must be an integer in [0, ${T - 1}] (got ${String(t)})`);
    }
    let input = examples;
    let level = 0;
    if (opts.noisy ?? true) {
      const ab = this.nets.schedule.alphaBars[t];
      const rng = createRng(opts.seed >>> 0);
      input = new Float32Array(examples.length);
      const a = Math.sqrt(ab);
      const b = Math.sqrt(1 - ab);
      for (let i = 0; i < examples.length; i++) input[i] = a * examples[i] + b * rng.normal();
      level = b;
    }
    const { mu, sigma } = await this.encode(input, level);
    const d = this.latentDim;
    return { mu: { data: mu, dim: d }, sigma: { data: sigma, dim: d } };
  }

  dispose(): void {
    if (!this.live) return;
    this.live = false;
    if (this.owned) {
      tf.dispose(Object.values(this.nets.unet.weights));
      tf.dispose(Object.values(this.nets.encoder));
    }
  }

  private count(values: Float32Array, what: string): number {
    const px = this.size * this.size;
    if (!(values instanceof Float32Array) || values.length % px !== 0) {
      throw new Error(
        `${what} must be a Float32Array of N*${px} values (got ${values?.length ?? String(values)})`,
      );
    }
    return values.length / px;
  }

  private assertLive(): void {
    if (!this.live) throw new Error('this DiVA sampler was disposed');
  }
}
