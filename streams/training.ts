import { Observable } from 'rxjs';
import type { StepEvent } from './events.js';
import type { Dataset } from './events.js';
import { mulberry32 } from './mulberry32.js';

/** What `training` drives: one optimiser step on a batch, returning the loss. */
export interface Trainable {
  /** `images` is batch*size*size values, `labels` batch*2 pixel coordinates. */
  trainStep(images: Float32Array, labels: Float32Array, batch: number): number | Promise<number>;
}

export interface TrainingOptions {
  runId: string;
  /** Optimiser steps to take in this subscription. */
  steps: number;
  batchSize?: number;
  /** Seeds the batch draws (default 0). */
  seed?: number;
  /** Step already reached (when resuming); emitted steps count from startStep + 1. */
  startStep?: number;
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
): Observable<StepEvent> {
  const batch = opts.batchSize ?? 64;
  const startStep = opts.startStep ?? 0;
  const seed = opts.seed ?? 0;
  if (typeof opts.runId !== 'string' || opts.runId === '') {
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

  return new Observable<StepEvent>((subscriber) => {
    let stopped = false;
    const run = async (): Promise<void> => {
      const rand = mulberry32(seed + startStep * 0x9e3779b1);
      const px = dataset.size * dataset.size;
      const images = new Float32Array(batch * px);
      const labels = new Float32Array(batch * 2);
      for (let i = 0; i < opts.steps; i++) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (stopped) return;
        const t0 = performance.now();
        for (let b = 0; b < batch; b++) {
          const idx = Math.floor(rand() * dataset.count);
          images.set(render(idx), b * px);
          labels[2 * b] = dataset.labels[2 * idx];
          labels[2 * b + 1] = dataset.labels[2 * idx + 1];
        }
        const loss = await model.trainStep(images, labels, batch);
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
          runId: opts.runId,
          seq: i,
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
  const px = dataset.size * dataset.size;
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
