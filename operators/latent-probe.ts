import type { OperatorFunction } from 'rxjs';
import type { Dataset, EventInput, Snapshot } from '../streams/events.js';
import { frozenProbe } from './frozen-probe.js';
import type { FreezableDiva, FrozenProbeOptions } from './frozen-probe.js';
import { linearFit } from './metrics/linear-fit.js';
import { participationRatio } from './metrics/participation-ratio.js';
import { binarizeAtMedian, tad } from './metrics/tad.js';

export interface LatentProbeOptions extends FrozenProbeOptions {
  /** The model whose inference network is probed. */
  model: FreezableDiva;
  /** Held-out examples with ground-truth `fields` (e.g. `disks({ seed: 99 })`). */
  probe: Dataset;
  /** Fields to read out (default: all of `probe.fields`). */
  fields?: string[];
  /** Examples of `probe` used (default: all, at most 1000). */
  count?: number;
  /** Metric name prefix (default 'diva'). */
  prefix?: string;
  /** Also emit the TAD disentanglement score (default true; see `tad`). */
  tad?: boolean;
}

/**
 * At each snapshot, encodes the probe examples with the frozen inference network (posterior
 * means μφ(x)) and fits, per ground-truth field, a linear read-out field ≈ w·μ + b. Emits
 * `<prefix>/r2/<field>` (the fit's R²), `<prefix>/participation/<field>` (participation
 * ratio of the standardized weights: how many latent axes the field uses, 1 to latentDim)
 * and a `<prefix>/probe-weights` matrix (fields × latent axes, standardized weights). With
 * `tad` (the default) also `<prefix>/tad` and `<prefix>/tad/captured`: the TAD score of the
 * posterior means against the fields, each binarised at its median (continuous factors such
 * as the disks' become "above / below the median" attributes).
 *
 * ```
 * snapshots:  --a----------b--|
 * result:     ------(rrpp tt m)----(rrpp tt m)|
 * ```
 *
 * @example snaps$.pipe(latentProbe({ model, probe: disks({ seed: 99, count: 500 }), gate }));
 */
export function latentProbe(opts: LatentProbeOptions): OperatorFunction<Snapshot, EventInput> {
  const { probe } = opts;
  if (!probe || !probe.fields || Object.keys(probe.fields).length === 0) {
    throw new Error('latentProbe probe must be a Dataset with ground-truth fields');
  }
  const fields = opts.fields ?? Object.keys(probe.fields);
  for (const f of fields) {
    if (!(probe.fields[f] instanceof Float32Array)) {
      throw new Error(
        `latentProbe field "${f}" is not a field of the probe (has ${Object.keys(probe.fields).join(', ')})`,
      );
    }
  }
  const count = opts.count ?? Math.min(probe.count, 1000);
  if (!Number.isInteger(count) || count < 2 || count > probe.count) {
    throw new Error(
      `latentProbe count must be an integer in [2, ${probe.count}] (got ${String(count)})`,
    );
  }
  const prefix = opts.prefix ?? 'diva';
  const px = probe.size * probe.size;
  const images = new Float32Array(count * px);
  for (let i = 0; i < count; i++) images.set(probe.image(i), i * px);
  const targets = fields.map((f) =>
    (probe.fields as Record<string, Float32Array>)[f].subarray(0, count),
  );
  const attributes = opts.tad === false ? null : targets.map((t) => binarizeAtMedian(t));
  return frozenProbe(
    opts.model,
    async (sampler, s) => {
      const { mu } = await sampler.encode(images);
      const d = sampler.latentDim;
      const events: EventInput[] = [];
      const weights: number[] = [];
      fields.forEach((f, k) => {
        const fit = linearFit(mu, d, targets[k]);
        weights.push(...fit.standardized);
        events.push(
          { type: 'metric', name: `${prefix}/r2/${f}`, value: fit.r2, step: s.step },
          {
            type: 'metric',
            name: `${prefix}/participation/${f}`,
            value: participationRatio(fit.standardized),
            step: s.step,
          },
        );
      });
      if (attributes) {
        const r = tad(mu, d, attributes);
        events.push(
          { type: 'metric', name: `${prefix}/tad`, value: r.score, step: s.step },
          { type: 'metric', name: `${prefix}/tad/captured`, value: r.captured, step: s.step },
        );
      }
      events.push({
        type: 'matrix',
        name: `${prefix}/probe-weights`,
        rows: fields.length,
        cols: d,
        values: weights,
        rowLabels: fields,
        colLabels: Array.from({ length: d }, (_, j) => `z${j}`),
        step: s.step,
      });
      return events;
    },
    opts,
  );
}
