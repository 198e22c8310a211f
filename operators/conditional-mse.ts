import type { OperatorFunction } from 'rxjs';
import type { EventInput, Snapshot } from '../streams/events.js';
import { frozenProbe, toGreyLevels } from './frozen-probe.js';
import type { FreezableDiva, FrozenProbeOptions } from './frozen-probe.js';
import { meanImageMse, reconstructionMse } from './metrics/reconstruction-mse.js';

/** One way of sampling conditionally: a sampler method and a guidance scale. */
export interface ConditionalSampler {
  /** Default 'ddim'. */
  method?: 'ddim' | 'ddpm' | 'algorithm1';
  /** Default 1. */
  guidance?: number;
}

export interface ConditionalMseOptions extends FrozenProbeOptions {
  model: FreezableDiva;
  /** Guide images, N*size*size values in [-1, 1]. */
  guides: Float32Array;
  size: number;
  /** Samples drawn per guide (default 2). */
  perGuide?: number;
  /** DDIM steps (default 20). */
  sampleSteps?: number;
  /** Sampling seed at step s is seed + s (default 0). */
  seed?: number;
  /**
   * The conditional samplers (default one: DDIM at guidance scale 1, the seed's Eq. 8). The
   * first gives `<prefix>/conditional-mse` and the grid; every further one adds
   * `<prefix>/conditional-mse/<method>-x<guidance>`. `guidance` multiplies the score at
   * sampling time only; `method` 'algorithm1' is the seed's Algorithm 1 as written (see
   * `DivaGenerateOptions.method`).
   */
  samplers?: ConditionalSampler[];
  /** Guides shown in the `images` grid (default 4; 0 for none). */
  show?: number;
  prefix?: string;
}

/**
 * The seed's reconstruction test at each snapshot: samples `perGuide` images conditioned on
 * each guide (Algorithm 1) and, from the same weights, as many unguided ones, and emits the
 * mean squared error of each against its guide: `<prefix>/conditional-mse` (at each of the
 * `samplers`, see there) and
 * `<prefix>/unconditional-mse`, with `<prefix>/mean-image-mse` (the guides' spread around
 * their mean image, the seed's "dataset" baseline). When the sampler offers `denoiseMse`, also
 * `<prefix>/denoise-mse/guided` and `/unguided`: the noise-estimate error on the guides noised
 * to ¼, ½ and ¾ of T, with and without the guidance score. An `images` event `<prefix>/conditional`
 * shows, per shown guide, the guide then its samples.
 *
 * ```
 * snapshots:  --a---------b--|
 * result:     -----(cum i)-----(cum i)|
 * ```
 *
 * @example snaps$.pipe(conditionalMse({ model, guides, size: 16, gate }));
 */
export function conditionalMse(
  opts: ConditionalMseOptions,
): OperatorFunction<Snapshot, EventInput> {
  const { guides, size } = opts;
  if (!Number.isInteger(size) || size < 1) {
    throw new Error(`conditionalMse size must be a positive integer (got ${String(size)})`);
  }
  const px = size * size;
  if (!(guides instanceof Float32Array) || guides.length === 0 || guides.length % px !== 0) {
    throw new Error(
      `conditionalMse guides must be a Float32Array of N*${px} values (got ${guides?.length ?? String(guides)})`,
    );
  }
  const perGuide = opts.perGuide ?? 2;
  if (!Number.isInteger(perGuide) || perGuide < 1 || perGuide > 64) {
    throw new Error(
      `conditionalMse perGuide must be an integer in [1, 64] (got ${String(perGuide)})`,
    );
  }
  const n = guides.length / px;
  const show = opts.show ?? Math.min(4, n);
  if (!Number.isInteger(show) || show < 0 || show > n) {
    throw new Error(`conditionalMse show must be an integer in [0, ${n}] (got ${String(show)})`);
  }
  const samplers = (opts.samplers ?? [{}]).map((v) => ({
    method: v?.method ?? 'ddim',
    guidance: v?.guidance ?? 1,
  }));
  if (
    samplers.length === 0 ||
    !samplers.every(
      (v) =>
        ['ddim', 'ddpm', 'algorithm1'].includes(v.method) &&
        typeof v.guidance === 'number' &&
        v.guidance >= 0 &&
        v.guidance <= 100,
    )
  ) {
    throw new Error(
      `conditionalMse samplers must be a non-empty array of { method: ddim | ddpm | algorithm1, guidance in [0, 100] } (got ${JSON.stringify(opts.samplers)})`,
    );
  }
  const prefix = opts.prefix ?? 'diva';
  const seed = opts.seed ?? 0;
  // Guide-major repeats: all samples of guide 0 first.
  const repeated = new Float32Array(n * perGuide * px);
  for (let g = 0; g < n; g++) {
    for (let k = 0; k < perGuide; k++)
      repeated.set(guides.subarray(g * px, (g + 1) * px), (g * perGuide + k) * px);
  }
  const baseline = meanImageMse(guides, px);
  return frozenProbe(
    opts.model,
    async (sampler, s) => {
      const sampleOpts = { seed: seed + s.step, steps: opts.sampleSteps ?? 20 };
      const cond = await sampler.sample(repeated, { ...sampleOpts, ...samplers[0] });
      const unc = await sampler.generate(null, n * perGuide, sampleOpts);
      const events: EventInput[] = [
        {
          type: 'metric',
          name: `${prefix}/conditional-mse`,
          value: reconstructionMse(cond.images, guides, perGuide, px),
          step: s.step,
        },
        {
          type: 'metric',
          name: `${prefix}/unconditional-mse`,
          value: reconstructionMse(unc.images, guides, perGuide, px),
          step: s.step,
        },
        { type: 'metric', name: `${prefix}/mean-image-mse`, value: baseline, step: s.step },
      ];
      for (const v of samplers.slice(1)) {
        const more = await sampler.sample(repeated, { ...sampleOpts, ...v });
        events.push({
          type: 'metric',
          name: `${prefix}/conditional-mse/${v.method}-x${v.guidance}`,
          value: reconstructionMse(more.images, guides, perGuide, px),
          step: s.step,
        });
      }
      if (sampler.denoiseMse) {
        const d = await sampler.denoiseMse(guides, [0.25, 0.5, 0.75], seed + s.step);
        events.push(
          { type: 'metric', name: `${prefix}/denoise-mse/guided`, value: d.guided, step: s.step },
          {
            type: 'metric',
            name: `${prefix}/denoise-mse/unguided`,
            value: d.unguided,
            step: s.step,
          },
        );
      }
      if (show > 0) {
        const thumbs = [];
        for (let g = 0; g < show; g++) {
          thumbs.push({
            pixels: toGreyLevels(guides.subarray(g * px, (g + 1) * px)),
            caption: `guide ${g}`,
          });
          for (let k = 0; k < perGuide; k++) {
            const i = g * perGuide + k;
            thumbs.push({
              pixels: toGreyLevels(cond.images.subarray(i * px, (i + 1) * px)),
              caption: `sample ${g}.${k}`,
            });
          }
        }
        events.push({ type: 'images', name: `${prefix}/conditional`, size, thumbs, step: s.step });
      }
      return events;
    },
    opts,
  );
}
