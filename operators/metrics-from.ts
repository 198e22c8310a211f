import { concatMap, from } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { EventInput, Snapshot } from '../streams/events.js';

export interface MetricsFromOptions {
  /** Prepended to every name with a `/` (e.g. `custom` → `custom/border`). */
  prefix?: string;
}

/**
 * Turns a function of a snapshot into `metric` events, one per returned name, at the
 * snapshot's step. Snapshots are handled one at a time, in order; a non-finite value is
 * an error naming the metric.
 *
 * ```
 * snapshots:  --a-----b--|        fn(a) = { acc: 0.5, r2: 0.1 }
 * result:     --(xy)--(zw)--|    x = metric acc 0.5, y = metric r2 0.1, …
 * ```
 *
 * @example snaps$.pipe(metricsFrom((s) => ({ mean: mean(s.images) }), { prefix: 'custom' }));
 */
export function metricsFrom(
  fn: (s: Snapshot) => Record<string, number> | Promise<Record<string, number>>,
  opts: MetricsFromOptions = {},
): OperatorFunction<Snapshot, EventInput> {
  if (typeof fn !== 'function')
    throw new Error(`metricsFrom fn must be a function (got ${typeof fn})`);
  const prefix = opts.prefix ? `${opts.prefix}/` : '';
  const toEvents = (values: Record<string, number>, step: number): EventInput[] =>
    Object.entries(values).map(([name, value]): EventInput => {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new Error(`metric ${prefix}${name} must be a finite number (got ${String(value)})`);
      }
      return { type: 'metric', name: prefix + name, value, step };
    });
  return concatMap((s: Snapshot) => {
    const values = fn(s);
    // A plain result is emitted synchronously; a Promise when it resolves.
    return values instanceof Promise
      ? from(values).pipe(concatMap((v) => toEvents(v, s.step)))
      : from(toEvents(values, s.step));
  });
}
