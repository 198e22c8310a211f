import type * as tf from '@tensorflow/tfjs';
import type {
  Batch,
  Model,
  ModelSample,
  ModelSampleOptions,
  Sampler,
} from '../../streams/events.js';
import { Ddpm, type DdpmConfig, type SampleResult } from './ddpm.js';

/** The name of the UNet activation phase detection embeds. */
export const UNET_LAYER = 'layer4';

function asModelSample(r: SampleResult): ModelSample {
  return { images: r.images, activations: { [UNET_LAYER]: { data: r.activations, dim: r.dim } } };
}

/**
 * The conditional UNet DDPM of seed 004 as a phasewatch `Model`: ε-prediction training with
 * Adam and an EMA copy, DDIM sampling conditioned on N*2 (x, y) labels, the `layer4`
 * activations at the first sampling step.
 *
 * @example
 * const model = unetDdpm({ size: 16, widths: [16, 32, 64], seed: 1 });
 * training(model, gaussianBumps({ dx: 0.5 }), { steps: 1000 }).subscribe();
 */
export class UnetDdpm implements Model {
  readonly kind = 'unet-ddpm';
  readonly ddpm: Ddpm;

  constructor(config: Partial<DdpmConfig> = {}) {
    this.ddpm = new Ddpm(config);
  }

  get step(): number {
    return this.ddpm.step;
  }

  get paramCount(): number {
    return this.ddpm.paramCount;
  }

  get config(): DdpmConfig {
    return this.ddpm.config;
  }

  trainStep(b: Batch): number {
    return this.ddpm.trainStep(b.images, b.labels, b.batch);
  }

  async sample(conditions: Float32Array, opts: ModelSampleOptions): Promise<ModelSample> {
    return asModelSample(
      await this.ddpm.sample({ labels: conditions, seed: opts.seed, steps: opts.steps }),
    );
  }

  freeze(): Sampler {
    const weights: Record<string, tf.Tensor> | null = this.ddpm.copyEma();
    const ddpm = this.ddpm;
    let live = true;
    return {
      step: ddpm.step,
      async sample(conditions, opts) {
        if (!live) throw new Error('this frozen sampler was disposed');
        return asModelSample(
          await ddpm.sample({ labels: conditions, seed: opts.seed, steps: opts.steps }, weights),
        );
      },
      dispose() {
        if (!live) return;
        live = false;
        for (const t of Object.values(weights)) t.dispose();
      },
    };
  }

  save(dir: string): Promise<void> {
    return this.ddpm.save(dir);
  }

  load(dir: string): Promise<void> {
    return this.ddpm.load(dir);
  }

  dispose(): void {
    this.ddpm.dispose();
  }
}

/** A UNet DDPM `Model` (see `UnetDdpm`). */
export function unetDdpm(config: Partial<DdpmConfig> = {}): UnetDdpm {
  return new UnetDdpm(config);
}
