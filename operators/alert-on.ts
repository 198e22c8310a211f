import { defer, mergeMap, of } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { AlertEvent, EventInput } from '../streams/events.js';

/** What `alertOn` adds to the stream: an `alert` event (runId/time filled in by `record`). */
export type AlertInput = Extract<EventInput, { type: 'alert' }>;

/**
 * Decides, event by event, whether something is wrong (or worth a banner). A predicate may
 * carry the `when` it is meant for (`phaseChanged` alerts on every change).
 */
export type AlertPredicate<T> = ((event: T, index: number) => boolean) & {
  when?: 'edge' | 'every';
};

export interface AlertOnOptions {
  /** Banner colour and stderr prefix (default `warning`). */
  level?: AlertEvent['level'];
  /**
   * `edge` (default): one alert when the predicate turns true, none while it stays true;
   * `every`: one alert for every event it holds for.
   */
  when?: 'edge' | 'every';
}

/** Events that carry a step; any other value is alerted at step 0. */
interface Stepped {
  step?: number;
  runId?: string;
}

/**
 * Passes every event on and, right after one that makes `predicate` true, an `alert` event
 * (`{ type: 'alert', level, message, step }`, the triggering event's step and runId). By
 * default it alerts on the edge: once when the predicate turns true, again only after it was
 * false in between. `message` may be a function of the triggering event. The predicate is
 * called once per event, in order; a stateful one (`stalled`) serves one pipeline.
 *
 * ```
 * source:  -a-b-c-d-|     b, c, d make the predicate true, a does not
 * edge:    -a-(bw)-c-d-|  w = { type: 'alert', step: b.step, message }
 * every:   -a-(bw)-(cw)-(dw)-|
 * ```
 *
 * @example
 * bumpExperiment(opts).pipe(alertOn(phaseChanged(), (e) => `phase ${e.to}`), record(store));
 */
export function alertOn<T>(
  predicate: AlertPredicate<T>,
  message: string | ((event: T) => string),
  opts: AlertOnOptions = {},
): OperatorFunction<T, T | AlertInput> {
  if (typeof predicate !== 'function') {
    throw new Error(`alertOn predicate must be a function of an event (got ${typeof predicate})`);
  }
  if (typeof message !== 'string' && typeof message !== 'function') {
    throw new Error(`alertOn message must be a string or a function (got ${typeof message})`);
  }
  const level = opts.level ?? 'warning';
  if (!['info', 'warning', 'error'].includes(level)) {
    throw new Error(`alertOn level must be one of info, warning, error (got ${String(level)})`);
  }
  const when = opts.when ?? predicate.when ?? 'edge';
  if (when !== 'edge' && when !== 'every') {
    throw new Error(`alertOn when must be one of edge, every (got ${String(when)})`);
  }
  return (source) =>
    defer(() => {
      let active = false;
      return source.pipe(
        mergeMap((e, i) => {
          const hit = predicate(e, i);
          const fire = hit && (when === 'every' || !active);
          active = hit;
          if (!fire) return of(e);
          const s = e as Stepped;
          const alert: AlertInput = {
            type: 'alert',
            level,
            message: typeof message === 'string' ? message : message(e),
            step: typeof s?.step === 'number' ? s.step : 0,
            ...(typeof s?.runId === 'string' ? { runId: s.runId } : {}),
          };
          return of(e, alert);
        }),
      );
    });
}

type PhaseInput = Extract<EventInput, { type: 'phase' }>;

/**
 * True on a `phase` event that moves to another phase (not the first phase of a run); alerts
 * on every change, even two in a row.
 */
export function phaseChanged<T extends { type: string }>(): AlertPredicate<T> {
  const p: AlertPredicate<T> = (e) =>
    e.type === 'phase' && (e as unknown as PhaseInput).from !== null;
  p.when = 'every';
  return p;
}

/**
 * True when a number the event carries is NaN or infinite: a step's `loss`, a metric's
 * `value` (only metrics whose name matches `names`, default all).
 */
export function nonFinite<T extends { type: string }>(names: RegExp = /./): (e: T) => boolean {
  return (e) => {
    const r = e as unknown as { type: string; loss?: number; value?: number; name?: string };
    if (r.type === 'step') return !Number.isFinite(r.loss);
    if (r.type === 'metric') return names.test(r.name ?? '') && !Number.isFinite(r.value);
    return false;
  };
}

export interface StalledOptions {
  /** Steps (or matching metric events) without progress before it is a stall (default 500). */
  window?: number;
  /** Relative improvement of the best value that counts as progress (default 0.01 = 1 %). */
  minImprovement?: number;
  /** Watch this metric instead of the training loss. */
  metric?: string;
  /** `lower` (default, a loss) or `higher` (an accuracy) is better. */
  better?: 'lower' | 'higher';
}

/**
 * A stall: the training loss (or a named metric) has not improved its best value by
 * `minImprovement` (relative) for `window` consecutive readings. The loss of one step is
 * noisy, so readings are smoothed by an exponential average over ~window/10 readings first.
 * Stateful: one per pipeline.
 *
 * @example steps$.pipe(alertOn(stalled({ window: 300 }), 'loss has not improved in 300 steps'))
 */
export function stalled<T extends { type: string }>(opts: StalledOptions = {}): (e: T) => boolean {
  const window = opts.window ?? 500;
  const minImprovement = opts.minImprovement ?? 0.01;
  if (!Number.isInteger(window) || window < 1) {
    throw new Error(`stalled window must be a positive integer (got ${String(window)})`);
  }
  if (!(minImprovement >= 0 && minImprovement < 1)) {
    throw new Error(
      `stalled minImprovement must be a number in [0, 1) (got ${String(minImprovement)})`,
    );
  }
  const sign = opts.better === 'higher' ? -1 : 1;
  const alpha = 1 / Math.max(1, Math.round(window / 10));
  let smooth: number | undefined;
  let best = Infinity;
  let since = 0;
  return (e) => {
    const r = e as unknown as { type: string; loss?: number; value?: number; name?: string };
    let v: number | undefined;
    if (opts.metric === undefined && r.type === 'step') v = r.loss;
    else if (opts.metric !== undefined && r.type === 'metric' && r.name === opts.metric)
      v = r.value;
    if (v === undefined || !Number.isFinite(v)) return since >= window;
    smooth = smooth === undefined ? v : smooth + alpha * (v - smooth);
    const x = sign * smooth;
    if (x < best - minImprovement * Math.abs(best) || best === Infinity) {
      best = x;
      since = 0;
    } else {
      since++;
    }
    return since >= window;
  };
}
