import { Observable } from 'rxjs';
import type { Batch, Dataset, EventInput } from './events.js';
import type { Gate } from './gate.js';
import { mulberry32 } from './mulberry32.js';

/** What `training` drives: one optimiser step on a batch, returning the loss (a `Model` is one). */
export interface Trainable {
  trainStep(batch: Batch): number | Promise<number>;
}

/** A step event as training emits it: `record()` stamps `seq` (and `runId` when absent). */
export type StepInput = Extract<EventInput, { type: 'step' }>;

export interface TrainingOptions {
  /** Stamped on each step event when given; `record()` fills it in otherwise. */
  runId?: string;
  /** Optimiser steps to take in this subscription. */
  steps: number;
  batchSize?: number;
  /** Seeds the batch draws (default 0). */
  seed?: number;
  /**
   * Step already reached (when resuming); emitted steps count from startStep + 1, and the
   * batches are those an uninterrupted run of the same seed and batch size draws after it.
   */
  startStep?: number;
  /** Awaited before every step: snapshots and checkpoints hold training back through it. */
  gate?: Gate;
}

/** Values of one example of a dataset (`shape`, default size*size). */
export function exampleLength(d: Dataset): number {
  return d.shape ? d.shape.reduce((a, b) => a * b, 1) : d.size * d.size;
}

/** Datasets up to this many floats are rendered once and kept. */
const CACHE_LIMIT_FLOATS = 50_000_000;

/**
 * Trains `model` on random batches of `dataset`, one `StepEvent` per optimiser step.
 * Cold: nothing runs until subscribed, and each subscription runs its own loop, yielding to
 * the event loop between steps; unsubscribing stops it before the next step.
 *
 * ```
 * training(m, d, { steps: 3 }):  --s1--s2--s3|
 * NaN loss at step 2:            --s1--#
 * ```
 * @example training(model, gaussianBumps({ dx: 0.5 }), { runId: 'r1', steps: 2000 }).subscribe(log);
 */
export function training(
  model: Trainable,
  dataset: Dataset,
  opts: TrainingOptions,
): Observable<StepInput> {
  const batch = opts.batchSize ?? 64;
  const startStep = opts.startStep ?? 0;
  const seed = opts.seed ?? 0;
  if (opts.runId !== undefined && (typeof opts.runId !== 'string' || opts.runId === '')) {
    throw new Error(
      `training runId must be a non-empty string (got ${JSON.stringify(opts.runId)})`,
    );
  }
  if (!Number.isInteger(opts.steps) || opts.steps < 0) {
    throw new Error(`training steps must be a non-negative integer (got ${opts.steps})`);
  }
  if (!Number.isInteger(batch) || batch < 1) {
    throw new Error(`training batchSize must be a positive integer (got ${batch})`);
  }
  if (!Number.isInteger(startStep) || startStep < 0) {
    throw new Error(`training startStep must be a non-negative integer (got ${startStep})`);
  }
  if (!Number.isInteger(seed)) throw new Error(`training seed must be an integer (got ${seed})`);
  if (!(dataset.count > 0)) throw new Error(`training dataset is empty (count ${dataset.count})`);
  const render = imageSource(dataset);

  const labelDim = dataset.labelDim ?? 2;
  if (
    !Number.isInteger(labelDim) ||
    labelDim < 0 ||
    dataset.labels.length < dataset.count * labelDim
  ) {
    throw new Error(
      `training dataset labels must hold count*labelDim = ${dataset.count}*${labelDim} values (got ${dataset.labels.length})`,
    );
  }
  return new Observable<StepInput>((subscriber) => {
    let stopped = false;
    const run = async (): Promise<void> => {
      // The draws of steps 1..startStep are skipped, not re-seeded: a resumed run takes the
      // batches an uninterrupted one would have.
      const rand = mulberry32(seed);
      for (let i = startStep * batch; i > 0; i--) rand();
      const px = exampleLength(dataset);
      const images = new Float32Array(batch * px);
      const labels = new Float32Array(batch * labelDim);
      for (let i = 0; i < opts.steps; i++) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        await opts.gate?.ready();
        if (stopped) return;
        const t0 = performance.now();
        for (let b = 0; b < batch; b++) {
          const idx = Math.floor(rand() * dataset.count);
          images.set(render(idx), b * px);
          for (let k = 0; k < labelDim; k++) {
            labels[b * labelDim + k] = dataset.labels[idx * labelDim + k];
          }
        }
        const loss = await model.trainStep({ images, labels, batch });
        if (stopped) return;
        const step = startStep + i + 1;
        if (!Number.isFinite(loss)) {
          subscriber.error(
            new Error(
              `training diverged: loss is ${loss} at step ${step} (lower the learning rate)`,
            ),
          );
          return;
        }
        const seconds = Math.max((performance.now() - t0) / 1000, 1e-6);
        subscriber.next({
          type: 'step',
          ...(opts.runId === undefined ? {} : { runId: opts.runId }),
          step,
          loss,
          examplesPerSec: batch / seconds,
          time: Date.now(),
        });
      }
      subscriber.complete();
    };
    run().catch((err: unknown) => {
      if (!stopped) subscriber.error(err);
    });
    return () => {
      stopped = true;
    };
  });
}

/** Returns image(i), through a lazily filled cache when the whole dataset is small enough. */
function imageSource(dataset: Dataset): (i: number) => Float32Array {
  const px = exampleLength(dataset);
  if (dataset.count * px >= CACHE_LIMIT_FLOATS) return (i) => dataset.image(i);
  const cache = new Float32Array(dataset.count * px);
  const filled = new Uint8Array(dataset.count);
  return (i) => {
    const view = cache.subarray(i * px, (i + 1) * px);
    if (!filled[i]) {
      view.set(dataset.image(i));
      filled[i] = 1;
    }
    return view;
  };
}
