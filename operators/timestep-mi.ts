import type { OperatorFunction } from 'rxjs';
import type { EventInput, Snapshot } from '../streams/events.js';
import { knnMutualInformation, normalisedMI } from './metrics/knn-mi.js';
import { pcaEmbed } from './metrics/pca-embed.js';
import { featuresAt, perSnapshot, resolveProbeSet, timestepsOption } from './probe-set.js';
import type { ProbeSetOptions } from './probe-set.js';

export interface TimestepMIOptions extends Omit<
  ProbeSetOptions,
  'field' | 'targets' | 'testFraction'
> {
  /** Timesteps whose features are compared pairwise (default 0, 10, 20, 40, 60, 80). */
  timesteps?: number[];
  /** Principal components each timestep's features are reduced to before estimating (default 4). */
  components?: number;
  /** Neighbours of the KSG estimator (default 4). */
  k?: number;
  /** Name of the emitted matrix (default 'mi/timesteps'). */
  name?: string;
}

/**
 * Mutual information between the representations at pairs of timesteps (seed 000 §5 uses
 * MINE; this uses the documented KSG k-nearest-neighbour estimator instead, which needs no
 * training): at every snapshot, each timestep's features of the probe examples are reduced to
 * their top `components` principal components, I(f_s; f_t) is estimated for every pair and
 * normalised as 1 − e^{−2I} (Linfoot; 0 independent, → 1 one determines the other). Emits a
 * symmetric `matrix` with the diagonal at 1. Cost O(m²·N²) for m timesteps and N examples
 * (default N = 300: ~1 s per pair).
 *
 * ```
 * snapshots: --s1-------s2-----|
 * result:    ------M-------M---|    M: matrix mi/timesteps
 * ```
 * @example snapshots$.pipe(timestepMI({ model, probe, timesteps: [0, 20, 40, 80] }));
 */
export function timestepMI(opts: TimestepMIOptions): OperatorFunction<Snapshot, EventInput> {
  // Labels are not needed; any field-less probe set works, so give a dummy target.
  const probeCount = Math.min(opts.count ?? 300, opts.probe?.count ?? 0);
  const set = resolveProbeSet(
    {
      ...opts,
      count: opts.count ?? 300,
      targets: Array.from({ length: Math.max(probeCount, 0) }, (_, i) => i % 2),
    },
    'timestepMI',
  );
  const timesteps = timestepsOption(opts, 'timestepMI', [0, 10, 20, 40, 60, 80]);
  const components = opts.components ?? 4;
  if (!Number.isInteger(components) || components < 1) {
    throw new Error(`timestepMI components must be a positive integer (got ${String(components)})`);
  }
  const k = opts.k ?? 4;
  const n = set.classes.length;
  if (!Number.isInteger(k) || k < 1 || k >= n) {
    throw new Error(`timestepMI k must be an integer in [1, ${n - 1}] (got ${String(k)})`);
  }
  const name = opts.name ?? 'mi/timesteps';
  const m = timesteps.length;
  return perSnapshot(opts.model, async (s, sampler) => {
    const reduced: Float32Array[] = [];
    for (const t of timesteps) {
      const act = await featuresAt(s, sampler, set, t);
      reduced.push(pcaEmbed(act.data, act.dim, Math.min(components, act.dim)));
    }
    const values = new Array<number>(m * m).fill(1);
    for (let i = 0; i < m; i++) {
      for (let j = i + 1; j < m; j++) {
        const c = Math.min(components, reduced[i].length / n);
        const nmi = normalisedMI(knnMutualInformation(reduced[i], c, reduced[j], c, k));
        values[i * m + j] = nmi;
        values[j * m + i] = nmi;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    const labels = timesteps.map((t) => `t=${t}`);
    return [
      {
        type: 'matrix',
        step: s.step,
        name,
        rows: m,
        cols: m,
        values,
        rowLabels: labels,
        colLabels: labels,
      },
    ];
  });
}
