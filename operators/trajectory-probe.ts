import type { OperatorFunction } from 'rxjs';
import { fitTrajectoryProbe } from './trajectory-probe-net.js';
import type { Activation, EventInput, Snapshot } from '../streams/events.js';
import { gatherRows } from './metrics/linear-probe.js';
import {
  checkTimesteps,
  DEFAULT_PROBE_TIMESTEPS,
  classesOf,
  featuresAt,
  modelT,
  perSnapshot,
  resolveProbeSet,
} from './probe-set.js';
import type { ProbeSetOptions } from './probe-set.js';

export interface TrajectoryProbeOptions extends ProbeSetOptions {
  /** The head over the trajectory: a GRU or attention pooling (default 'gru'). */
  kind?: 'gru' | 'attention';
  /** Points of the trajectory, in the order the head reads them (default 0, 5, 10, 20, 40, 60, 80). */
  timesteps?: number[];
  /** Also fit a one-hidden-layer MLP probe at each timestep, for comparison (default true). */
  compare?: boolean;
  /** Hidden width of the heads (default 32). */
  hidden?: number;
  /** Full-batch Adam iterations per head (default 300). */
  iterations?: number;
  /** Prefix of the emitted names (default 'trajectory'). */
  name?: string;
}

/**
 * Seed 000's trajectory representation, at every snapshot: the features of each probe example
 * at all `timesteps` form a sequence that a small GRU or attention head classifies (trained on
 * the train split, scored on the test split), compared with one-hidden-layer MLP probes on
 * each timestep alone. Emits `metric`s `<name>/<kind>-acc`, `<name>/best-point-acc`,
 * `<name>/gain` (trajectory − best point), the `curve` `<name>/point-acc` over t and, for
 * attention, the `curve` `<name>/attention` (mean attention weight per timestep on the test
 * rows). Cost: 1 + m small tfjs trainings per snapshot (`iterations` full-batch steps each).
 *
 * ```
 * snapshots: --s1----------s2---------|
 * result:    ------(acgp)--------(acgp)|
 * ```
 * @example snapshots$.pipe(trajectoryProbe({ model, probe, kind: 'attention' }));
 */
export function trajectoryProbe(
  opts: TrajectoryProbeOptions,
): OperatorFunction<Snapshot, EventInput> {
  const set = resolveProbeSet(opts, 'trajectoryProbe');
  const kind = opts.kind ?? 'gru';
  if (kind !== 'gru' && kind !== 'attention') {
    throw new Error(`trajectoryProbe kind must be one of gru, attention (got "${String(kind)}")`);
  }
  const timesteps = opts.timesteps ?? [...DEFAULT_PROBE_TIMESTEPS];
  checkTimesteps(timesteps, 'trajectoryProbe', modelT(opts.model));
  const compare = opts.compare ?? true;
  const name = opts.name ?? 'trajectory';
  const fit = { classes: set.K, hidden: opts.hidden, iterations: opts.iterations, seed: set.seed };
  const trainY = classesOf(set, set.train);
  const testY = classesOf(set, set.test);
  return perSnapshot(opts.model, async (s, sampler) => {
    const L = timesteps.length;
    const acts: Activation[] = [];
    for (const t of timesteps) acts.push(await featuresAt(s, sampler, set, t));
    const D = acts[0].dim;
    const sequence = (rows: Int32Array): Float32Array => {
      const out = new Float32Array(rows.length * L * D);
      for (let i = 0; i < rows.length; i++) {
        for (let t = 0; t < L; t++) {
          out.set(acts[t].data.subarray(rows[i] * D, (rows[i] + 1) * D), (i * L + t) * D);
        }
      }
      return out;
    };
    const traj = await fitTrajectoryProbe(
      sequence(set.train),
      trainY,
      sequence(set.test),
      testY,
      L,
      D,
      {
        ...fit,
        kind,
      },
    );
    const events: EventInput[] = [
      { type: 'metric', step: s.step, name: `${name}/${kind}-acc`, value: traj.accuracy },
    ];
    if (traj.attention) {
      events.push({
        type: 'curve',
        step: s.step,
        name: `${name}/attention`,
        x: timesteps,
        y: traj.attention,
        xLabel: 'timestep',
        yLabel: 'mean attention weight',
      });
    }
    if (compare) {
      const point: number[] = [];
      for (let t = 0; t < L; t++) {
        const r = await fitTrajectoryProbe(
          gatherRows(acts[t].data, D, set.train),
          trainY,
          gatherRows(acts[t].data, D, set.test),
          testY,
          1,
          D,
          { ...fit, kind: 'mlp' },
        );
        point.push(r.accuracy);
      }
      const best = Math.max(...point);
      events.push(
        {
          type: 'curve',
          step: s.step,
          name: `${name}/point-acc`,
          x: timesteps,
          y: point,
          xLabel: 'timestep',
          yLabel: 'MLP probe test accuracy',
        },
        { type: 'metric', step: s.step, name: `${name}/best-point-acc`, value: best },
        { type: 'metric', step: s.step, name: `${name}/gain`, value: traj.accuracy - best },
      );
    }
    return events;
  });
}
