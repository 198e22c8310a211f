import { Observable } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { EventInput } from '../streams/events.js';

export interface EmaMetricOptions<T> {
  /** Weight of the past in each update, from 0 (no smoothing) to below 1 (default 0.98). */
  decay?: number;
  /** The value averaged (default: the event's `loss`, as `step` events carry it). */
  value?: (e: T) => number;
  /** Emit the average at every this many inputs (default 1: at each). */
  every?: number;
}

/**
 * An exponential moving average of a value of each event (by default a `step` event's loss) as
 * `metric` events named `name`, at the event's step: avg ← decay·avg + (1 − decay)·value,
 * debiased like Adam (÷ 1 − decayⁿ), so the first values are not pulled toward 0. A
 * non-finite value (a NaN loss) is left out of the average rather than poisoning it.
 *
 * ```
 * steps:   -a-b-c-|      loss 1, 3, 3; decay 0.5
 * result:  -x-y-z-|      metric name at each step: x = 1, y = 2.33, z = 2.71
 * ```
 *
 * @example run({ steps: 600 }, { stepOperators: [emaMetric('train/loss-ema', { decay: 0.98 })] })
 */
export function emaMetric<T extends { step: number }>(
  name: string,
  opts: EmaMetricOptions<T> = {},
): OperatorFunction<T, EventInput> {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new Error(`emaMetric name must be a string of 1 to 200 characters (got ${String(name)})`);
  }
  const decay = opts.decay ?? 0.98;
  if (typeof decay !== 'number' || !(decay >= 0 && decay < 1)) {
    throw new Error(`emaMetric decay must be a number >= 0 and < 1 (got ${String(decay)})`);
  }
  const every = opts.every ?? 1;
  if (!Number.isInteger(every) || every < 1) {
    throw new Error(`emaMetric every must be an integer >= 1 (got ${String(every)})`);
  }
  const value = opts.value ?? ((e: T) => (e as { loss?: unknown }).loss as number);
  return (source) =>
    new Observable<EventInput>((subscriber) => {
      let biased = 0;
      let weight = 1; // decay^n
      let seen = 0;
      return source.subscribe({
        next: (e) => {
          const v = value(e);
          if (typeof v !== 'number') {
            subscriber.error(
              new Error(
                `emaMetric ${name}: the value at step ${e.step} is not a number (got ${typeof v}); pass opts.value`,
              ),
            );
            return;
          }
          if (!Number.isFinite(v)) return;
          biased = decay * biased + (1 - decay) * v;
          weight *= decay;
          seen++;
          if (seen % every !== 0) return;
          subscriber.next({ type: 'metric', name, value: biased / (1 - weight), step: e.step });
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
