import { concatMap, defer, filter, finalize, from, map } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { EventInput, Model, Sampler, Snapshot } from '../streams/events.js';
import type { Gate } from '../streams/gate.js';

type StepInput = Extract<EventInput, { type: 'step' }>;

export interface SnapshotEveryOptions {
  /** N*labelDim conditioning values sampled at every snapshot (the same each time). */
  conditions: Float32Array;
  /** Image side (or vector length) recorded in each snapshot. */
  size: number;
  /** Sampling seed of the snapshot at step s is `seed + s` (default 0). */
  seed?: number;
  /** Sampler steps (DDIM steps for a diffusion model). */
  sampleSteps?: number;
  /** The activation that becomes `Snapshot.activations` (default: the first the model returns). */
  layer?: string;
  /** Training waits while `gate.limit` snapshots are queued (backpressure; never drops). */
  gate?: Gate;
}

/**
 * Takes a snapshot every `every` optimiser steps (steps k, 2k, …; never step 0). At a due
 * step it freezes the model's weights at once (`model.freeze()`, synchronously, while training
 * is between steps) and queues the sampling; snapshots come out in step order, one per due
 * step — none is dropped. With a `gate`, training waits while the queue is full.
 *
 * ```
 * steps:    -1-2-3-4-5-6-|          every = 2, sampling takes 5 frames
 * result:   --------a----b----(c|)  one snapshot per due step, of the weights at that step
 * ```
 *
 * @example steps$.pipe(snapshotEvery(200, model, { conditions, size: 16, seed: 1 }));
 */
export function snapshotEvery(
  every: number,
  model: Pick<Model, 'freeze'>,
  opts: SnapshotEveryOptions,
): OperatorFunction<StepInput, Snapshot> {
  if (!Number.isInteger(every) || every < 1) {
    throw new Error(
      `snapshotEvery every must be a positive integer number of steps (got ${String(every)})`,
    );
  }
  if (!model || typeof model.freeze !== 'function') {
    throw new Error('snapshotEvery model must have a freeze() method (a phasewatch Model)');
  }
  if (!(opts?.conditions instanceof Float32Array)) {
    throw new Error('snapshotEvery conditions must be a Float32Array of N*labelDim values');
  }
  const seed = opts.seed ?? 0;
  return (source) =>
    defer(() => {
      const pending = new Set<Sampler>();
      const release = (s: Sampler): void => {
        if (!pending.delete(s)) return;
        s.dispose();
        opts.gate?.leave();
      };
      return source.pipe(
        filter((e) => e.step > 0 && e.step % every === 0),
        map((e) => {
          const sampler = model.freeze();
          pending.add(sampler);
          opts.gate?.enter();
          return { e, sampler };
        }),
        concatMap(({ e, sampler }) =>
          from(take(e, sampler)).pipe(finalize(() => release(sampler))),
        ),
        finalize(() => [...pending].forEach(release)),
      );
    });

  async function take(e: StepInput, sampler: Sampler): Promise<Snapshot> {
    const t0 = performance.now();
    const out = await sampler.sample(opts.conditions, {
      seed: seed + e.step,
      steps: opts.sampleSteps,
    });
    const names = Object.keys(out.activations);
    const layer = opts.layer ?? names[0];
    const act = out.activations[layer];
    if (!act) {
      throw new Error(
        `snapshotEvery layer "${String(layer)}" is not an activation of the model (has ${names.join(', ') || 'none'})`,
      );
    }
    return {
      runId: e.runId ?? '',
      step: e.step,
      size: opts.size,
      labels: opts.conditions,
      images: out.images,
      activations: act.data,
      dim: act.dim,
      layers: out.activations,
      sampleMs: Math.round(performance.now() - t0),
    };
  }
}
