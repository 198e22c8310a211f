import type { OperatorFunction } from 'rxjs';
import type { EventInput, Snapshot } from '../streams/events.js';
import { frozenProbe } from './frozen-probe.js';
import type { FreezableDiva, FrozenProbeOptions } from './frozen-probe.js';
import { straightness } from './metrics/straightness.js';

export interface LatentStraightnessOptions extends FrozenProbeOptions {
  model: FreezableDiva;
  /** Trajectories of frames (each frames*size*size values, at least 3 frames), e.g. a disk moving along a line. */
  trajectories: Float32Array[];
  size: number;
  prefix?: string;
}

/**
 * Straightness of encoded trajectories (seed §3, after Hénaff et al.): each trajectory's frames
 * are encoded to posterior means and the mean cosine of consecutive differences is averaged
 * over trajectories → `<prefix>/straightness`; the same measure of the raw frames, the
 * pixel-domain baseline, is `<prefix>/straightness/pixels`.
 *
 * ```
 * snapshots:  --a-------b--|
 * result:     ----(sp)----(sp)|
 * ```
 *
 * @example snaps$.pipe(latentStraightness({ model, trajectories: diskTrajectories(d, { count: 8 }), size: 16 }));
 */
export function latentStraightness(
  opts: LatentStraightnessOptions,
): OperatorFunction<Snapshot, EventInput> {
  const { trajectories, size } = opts;
  if (!Number.isInteger(size) || size < 1) {
    throw new Error(`latentStraightness size must be a positive integer (got ${String(size)})`);
  }
  const px = size * size;
  if (!Array.isArray(trajectories) || trajectories.length === 0) {
    throw new Error('latentStraightness trajectories must be a non-empty array of Float32Arrays');
  }
  trajectories.forEach((t, i) => {
    if (!(t instanceof Float32Array) || t.length % px !== 0 || t.length / px < 3) {
      throw new Error(
        `latentStraightness trajectories[${i}] must hold frames*${px} values with at least 3 frames (got ${t?.length ?? String(t)})`,
      );
    }
  });
  const prefix = opts.prefix ?? 'diva';
  const pixels = trajectories.reduce((s, t) => s + straightness(t, px), 0) / trajectories.length;
  return frozenProbe(
    opts.model,
    async (sampler, s) => {
      let sum = 0;
      for (const t of trajectories)
        sum += straightness((await sampler.encode(t)).mu, sampler.latentDim);
      return [
        {
          type: 'metric',
          name: `${prefix}/straightness`,
          value: sum / trajectories.length,
          step: s.step,
        },
        { type: 'metric', name: `${prefix}/straightness/pixels`, value: pixels, step: s.step },
      ];
    },
    opts,
  );
}
