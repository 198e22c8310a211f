import type { OperatorFunction } from 'rxjs';
import type { EventInput } from '../streams/events.js';
import type { Snapshot } from '../streams/events.js';
import { accuracy } from './metrics/linear-probe.js';
import type { LinearProbeOptions } from './metrics/linear-probe.js';
import { averageLogits, ensembleMembers } from './metrics/soft-vote.js';
import { classesOf, perSnapshot, resolveProbeSet, timestepsOption } from './probe-set.js';
import type { ProbeSetOptions } from './probe-set.js';
import { probeTimesteps } from './timestep-probes.js';

export interface SoftVoteOptions extends ProbeSetOptions {
  /** Timestep grid the best single probe is chosen from (default 0, 5, 10, 20, 40, 60, 80). */
  timesteps?: number[];
  /** Centre of the ensemble: the grid's best single timestep (default) or a given one. */
  around?: 'best' | number;
  /** Members at larger t (coarser) than the centre, from the grid (default 2). */
  coarse?: number;
  /** Members at smaller t (finer) than the centre (default 2). */
  fine?: number;
  /** Label-noise fractions to evaluate, each its own pair of metrics (default [0]). */
  labelNoise?: number[];
  linear?: Omit<LinearProbeOptions, 'classes'>;
  /** Prefix of the emitted names (default 'ensemble'). */
  name?: string;
}

/**
 * Seed 002's soft-voting ensemble across noise levels, at every snapshot: linear probes at
 * every grid timestep (trained on labels with the given noise, tested on clean ones); the best
 * single one (by test accuracy, as the seed reports it) and the ensemble averaging the logits of
 * the probes at the centre, `fine` smaller and `coarse` larger grid timesteps. Emits, per
 * label-noise level p (`noise<100p>`), `metric`s `<name>/single-noiseP`, `<name>/vote-noiseP`,
 * `<name>/gain-noiseP` (vote − single) and `<name>/best-t-noiseP`.
 * Cost: one probe fit per grid timestep and noise level.
 *
 * ```
 * snapshots: --s1------------s2-----------|
 * result:    ---------(svgb)---------(svgb)|
 * ```
 * @example snapshots$.pipe(softVote({ model, probe, labelNoise: [0, 0.8] }));
 */
export function softVote(opts: SoftVoteOptions): OperatorFunction<Snapshot, EventInput> {
  const set = resolveProbeSet(opts, 'softVote');
  const grid = timestepsOption(opts, 'softVote');
  const coarse = opts.coarse ?? 2;
  const fine = opts.fine ?? 2;
  ensembleMembers(grid.length, 0, coarse, fine); // validates coarse/fine
  const around = opts.around ?? 'best';
  if (around !== 'best' && !grid.includes(around)) {
    throw new Error(
      `softVote around must be 'best' or a timestep of the grid ${JSON.stringify(grid)} (got ${JSON.stringify(around)})`,
    );
  }
  const noises = opts.labelNoise ?? [0];
  if (!Array.isArray(noises) || noises.length === 0) {
    throw new Error(
      `softVote labelNoise must be a non-empty array of fractions (got ${JSON.stringify(noises)})`,
    );
  }
  for (const p of noises) {
    if (!(typeof p === 'number' && p >= 0 && p <= 1)) {
      throw new Error(`softVote labelNoise must hold fractions in [0, 1] (got ${String(p)})`);
    }
  }
  const name = opts.name ?? 'ensemble';
  const testY = classesOf(set, set.test);
  return perSnapshot(opts.model, async (s, sampler) => {
    const events: EventInput[] = [];
    for (const p of noises) {
      const probes = await probeTimesteps(s, sampler, set, grid, p, opts.linear);
      let centre = 0;
      if (around === 'best') {
        for (let i = 1; i < probes.length; i++)
          if (probes[i].accuracy > probes[centre].accuracy) centre = i;
      } else {
        centre = grid.indexOf(around);
      }
      const members = ensembleMembers(grid.length, centre, coarse, fine);
      const vote = accuracy(averageLogits(members.map((i) => probes[i].logits)), testY);
      const single = probes[centre].accuracy;
      const tag = `noise${Math.round(p * 100)}`;
      const m = (suffix: string, value: number): EventInput => ({
        type: 'metric',
        step: s.step,
        name: `${name}/${suffix}-${tag}`,
        value,
        tags: { labelNoise: String(p), input: set.noisy ? 'noisy' : 'clean' },
      });
      events.push(
        m('single', single),
        m('vote', vote),
        m('gain', vote - single),
        m('best-t', grid[centre]),
      );
    }
    return events;
  });
}
