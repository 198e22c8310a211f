import * as tf from '@tensorflow/tfjs';
import type {
  Activation,
  FeatureOptions,
  ModelSample,
  ModelSampleOptions,
  Sampler,
} from '../../../streams/events.js';
import { createRng } from '../../../streams/random.js';
import { ddimTimes, reverseStep } from '../ddpm.js';
import type { Schedule } from '../schedule.js';
import { mlpDenoiserApply, type MlpDenoiserConfig, type Weights } from './network.js';

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
   * DDIM sampling of N = conditions.length / labelDim vectors; the hidden layers `layer1` and
   * `layer2` at the first step (pure-noise input) and `layer1-last`, `layer2-last` at the last
   * (the input nearly clean). A DiER model has no clean example to encode here and samples with
   * a zero code.
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
          // the first step's hidden layers, then the last step's under `-last` names
          for (const [at, suffix] of [
            [0, ''],
            [times.length - 1, '-last'],
          ] as const) {
            if (i !== at) continue;
            activations[`layer1${suffix}`] = {
              data: out.layer1.dataSync() as Float32Array,
              dim: c.hidden,
            };
            activations[`layer2${suffix}`] = {
              data: out.layer2.dataSync() as Float32Array,
              dim: c.hidden,
            };
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

function countFrom(conditions: Float32Array, labelDim: number): number {
  if (labelDim < 1) {
    throw new Error('sample needs labelDim >= 1: the conditions give the number of samples');
  }
  if (conditions.length % labelDim !== 0) {
    throw new Error(`sample conditions must hold N*${labelDim} values (got ${conditions.length})`);
  }
  return conditions.length / labelDim;
}
