import { defer, exhaustMap, filter, finalize, from, take, tap } from 'rxjs';
import type { Observable, OperatorFunction } from 'rxjs';
import type { StepEvent } from '../streams/events.js';
import type { Snapshot } from '../streams/events.js';

export interface SnapshotEveryOptions {
  /** Called with each due step that is dropped because the previous snapshot is unfinished. */
  onSkip?: (e: StepEvent) => void;
}

/**
 * Takes a snapshot every `k` optimiser steps (steps k, 2k, …; never step 0) by calling
 * `sampler`. While a snapshot is still being computed, due steps are dropped on purpose
 * (exhaustMap) so that sampling never queues up behind training, and each drop is reported
 * through `onSkip`, never silently. The first value the sampler gives is the step's snapshot.
 *
 * ```
 * steps:    -1-2-3-4-5-6-|          k = 2, the sampler takes 5 frames
 * result:   --------a-------(b|)    step 4 is skipped: onSkip(step 4)
 * ```
 *
 * @example steps$.pipe(snapshotEvery(200, (e) => model.snapshot(e.step), { onSkip: log }));
 */
export function snapshotEvery(
  k: number,
  sampler: (e: StepEvent) => Promise<Snapshot> | Observable<Snapshot>,
  opts: SnapshotEveryOptions = {},
): OperatorFunction<StepEvent, Snapshot> {
  if (!Number.isInteger(k) || k < 1) {
    throw new Error(`k must be a positive integer number of steps (got ${String(k)})`);
  }
  if (typeof sampler !== 'function') {
    throw new Error(`sampler must be a function (got ${typeof sampler})`);
  }
  return (source) =>
    defer(() => {
      // Mirrors exhaustMap's own "inner active" state so skips can be reported.
      let busy = false;
      return source.pipe(
        filter((e) => e.step > 0 && e.step % k === 0),
        tap((e) => {
          if (busy) opts.onSkip?.(e);
        }),
        exhaustMap((e) => {
          busy = true;
          // One snapshot per due step: a sampler that never completes must not block the rest.
          return from(sampler(e)).pipe(
            take(1),
            finalize(() => {
              busy = false;
            }),
          );
        }),
      );
    });
}
