import { Observable } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { EventInput, RunEvent } from '../../streams/events.js';
import type { RunStore } from './run-store.js';

export interface RecordOptions {
  /** Step of the run-start event (the step a resumed run starts from; default 0). */
  startStep?: number;
  /**
   * Consulted when the run is unsubscribed: an error it returns ends the run `failed` with that
   * error rather than `stopped`. A consumer downstream that errors (a `tap` that throws on the
   * recorded stream) unsubscribes the run; its subscriber's error handler runs first, so it can
   * set what this returns (the CLI does). A promise it returns defers the decision to what it
   * settles to (the error of a script's promise, known only a few microtasks later).
   */
  failure?: () => unknown;
  /** Aborting it ends the run as an unsubscribe does (`stopped`, or `failed` per `failure`). */
  signal?: AbortSignal;
}

/**
 * The run store as a sink any event stream can be piped into. On subscribe it appends a
 * `run-start`; each event is stamped (runId, time, seq), appended to `events.jsonl` and then
 * passed on — so whoever sees an event can read it back from disk, and the live server (the
 * store's hub) pushes it. The run ends `completed` when the source completes, `failed` with
 * the error's message when it errors (the error is passed on), `stopped` on unsubscribe or
 * `opts.signal`'s abort (or `failed` when `opts.failure` names an error then).
 *
 * ```
 * source:  --m--m--|     m = { type: 'metric', name: 'acc', value, step }
 * result:  s-M--M--(e|)  s = run-start, M = the stored metric, e = run-end completed
 * ```
 *
 * @example
 * const store = RunStore.create({ runsDir: 'runs', backend: 'native', config });
 * merge(steps$, snaps$.pipe(metricsFrom(myMetric))).pipe(record(store)).subscribe();
 */
export function record(
  store: RunStore,
  opts: RecordOptions = {},
): OperatorFunction<EventInput, RunEvent> {
  return (source) =>
    new Observable<RunEvent>((subscriber) => {
      let lastStep = opts.startStep ?? 0;
      let ended = false;
      const end = (status: 'completed' | 'stopped' | 'failed', error?: unknown): void => {
        if (ended) return;
        ended = true;
        const message =
          error === undefined
            ? undefined
            : error instanceof Error
              ? error.message
              : JSON.stringify(error);
        try {
          const stored = store.close(status, lastStep, message);
          if (stored && !subscriber.closed) subscriber.next(stored);
        } catch (err) {
          if (!subscriber.closed) subscriber.error(err);
          return;
        }
        if (status === 'failed') subscriber.error(error);
        else subscriber.complete();
      };
      const append = (e: EventInput): RunEvent =>
        store.append({ ...e, runId: store.runId, time: e.time ?? Date.now() });
      try {
        subscriber.next(append({ type: 'run-start', step: lastStep, meta: store.info }));
      } catch (err) {
        end('failed', err);
        return;
      }
      const sub = source.subscribe({
        next: (e) => {
          if (ended) return;
          try {
            const stored = append(e);
            if (stored.step > lastStep) lastStep = stored.step;
            subscriber.next(stored);
          } catch (err) {
            end('failed', err);
            sub?.unsubscribe();
          }
        },
        error: (err: unknown) => end('failed', err),
        complete: () => end('completed'),
      });
      if (ended) sub.unsubscribe();
      let stopping = false;
      const stop = (): void => {
        opts.signal?.removeEventListener('abort', stop);
        sub.unsubscribe();
        if (ended || stopping) return;
        stopping = true;
        const failure = opts.failure?.();
        const decide = (err: unknown) => (err === undefined ? end('stopped') : end('failed', err));
        if (isThenable(failure)) failure.then(decide, decide);
        else decide(failure);
      };
      if (opts.signal?.aborted) stop();
      else opts.signal?.addEventListener('abort', stop);
      return stop;
    });
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  typeof (v as { then?: unknown } | null)?.then === 'function';
