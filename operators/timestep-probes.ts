import type { OperatorFunction } from 'rxjs';
import type { EventInput, Snapshot } from '../streams/events.js';
import { accuracy, corruptLabels, fitLinearProbe, probeLogits } from './metrics/linear-probe.js';
import type { LinearProbeOptions } from './metrics/linear-probe.js';
import {
  timestepsOption,
  classesOf,
  featuresAt,
  perSnapshot,
  resolveProbeSet,
  splitRows,
} from './probe-set.js';
import type { ProbeSet, ProbeSetOptions } from './probe-set.js';

export interface TimestepProbesOptions extends ProbeSetOptions {
  /** Diffusion timesteps to probe at (default 0, 5, 10, 20, 40, 60, 80). */
  timesteps?: number[];
  /** Fraction of the probes' training labels replaced by random classes (default 0). */
  labelNoise?: number;
  /** Linear probe settings (iterations, l2). */
  linear?: Omit<LinearProbeOptions, 'classes'>;
  /** Prefix of the emitted names (default 'probe'). */
  name?: string;
}

/** A fitted probe at one timestep: its test logits and accuracy. */
export interface TimestepProbe {
  t: number;
  logits: Float32Array;
  accuracy: number;
}

/**
 * Fits a linear probe on the probe set's features at each timestep (train split, labels
 * optionally corrupted) and scores it on the test split (clean labels).
 */
export async function probeTimesteps(
  snapshot: Snapshot,
  sampler: Parameters<typeof featuresAt>[1],
  set: ProbeSet,
  timesteps: number[],
  labelNoise: number,
  linear: Omit<LinearProbeOptions, 'classes'> = {},
): Promise<TimestepProbe[]> {
  const trainY = corruptLabels(classesOf(set, set.train), labelNoise, set.K, set.seed + 1);
  const testY = classesOf(set, set.test);
  const out: TimestepProbe[] = [];
  for (const t of timesteps) {
    const act = await featuresAt(snapshot, sampler, set, t);
    const { train, test } = splitRows(act, set);
    const probe = fitLinearProbe(train, trainY, act.dim, { ...linear, classes: set.K });
    const logits = probeLogits(probe, test);
    out.push({ t, logits, accuracy: accuracy(logits, testY) });
    // Let training and other operators run between probes.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return out;
}

/**
 * At every snapshot, probes the model's representation at each diffusion timestep with a
 * linear classifier (seed 002's protocol: clean inputs with the timestep set by default,
 * features of `layer`, train/test split of the probe set) and emits the accuracy-vs-timestep
 * `curve` `<name>/acc-<input>` plus `metric`s `<name>/best-acc-<input>` and
 * `<name>/best-t-<input>`. Cost per snapshot: one forward pass and one probe fit per timestep
 * (≈ 1 s each for 600 examples of 256 features); keep `timesteps` and `count` modest.
 *
 * ```
 * snapshots: --s1---------s2--------|
 * result:    -------(cmb)-------(cmb)|    c: curve, m/b: best accuracy / timestep
 * ```
 * @example snapshots$.pipe(timestepProbes({ model, probe: molrg({ seed: 9 }), timesteps: [0, 10, 40] }));
 */
export function timestepProbes(
  opts: TimestepProbesOptions,
): OperatorFunction<Snapshot, EventInput> {
  const set = resolveProbeSet(opts, 'timestepProbes');
  const timesteps = timestepsOption(opts, 'timestepProbes');
  const labelNoise = opts.labelNoise ?? 0;
  if (!(typeof labelNoise === 'number' && labelNoise >= 0 && labelNoise <= 1)) {
    throw new Error(
      `timestepProbes labelNoise must be a fraction in [0, 1] (got ${String(labelNoise)})`,
    );
  }
  const name = opts.name ?? 'probe';
  const suffix = `${set.noisy ? 'noisy' : 'clean'}${labelNoise > 0 ? `-noise${Math.round(labelNoise * 100)}` : ''}`;
  return perSnapshot(opts.model, async (s, sampler) => {
    const probes = await probeTimesteps(s, sampler, set, timesteps, labelNoise, opts.linear);
    let best = probes[0];
    for (const p of probes) if (p.accuracy > best.accuracy) best = p;
    const events: EventInput[] = [
      {
        type: 'curve',
        step: s.step,
        name: `${name}/acc-${suffix}`,
        x: probes.map((p) => p.t),
        y: probes.map((p) => p.accuracy),
        xLabel: 'timestep',
        yLabel: 'test accuracy',
      },
      { type: 'metric', step: s.step, name: `${name}/best-acc-${suffix}`, value: best.accuracy },
      { type: 'metric', step: s.step, name: `${name}/best-t-${suffix}`, value: best.t },
    ];
    return events;
  });
}
