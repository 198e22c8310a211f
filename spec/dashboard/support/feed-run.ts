import type { Observable, Subject } from 'rxjs';
import type { RunEvent, UnsequencedEvent } from '../../../streams/events.js';
import { RunStore } from '../../../engine/store/run-store.js';

/**
 * Feeds any stream of events (synthetic now, a real training run later) into a fresh
 * RunStore that publishes on `hub`, the way `phasewatch run --serve` does. A run-end event
 * in the stream, or its completion, closes the store.
 *
 * @example
 * const { done } = feedRun(syntheticRun$({ steps: 300, intervalMs: 5 }), { runsDir, hub, runId: 'r1' });
 * await done;
 */
export function feedRun(
  events$: Observable<UnsequencedEvent>,
  opts: {
    runsDir: string;
    hub: Subject<RunEvent>;
    runId: string;
    backend?: string;
    name?: string;
    tags?: string[];
    notes?: string;
    config?: Record<string, unknown>;
  },
): { store: RunStore; done: Promise<void>; stop(): void } {
  const store = RunStore.create({
    runsDir: opts.runsDir,
    runId: opts.runId,
    name: opts.name,
    tags: opts.tags,
    notes: opts.notes,
    backend: opts.backend ?? 'synthetic',
    config: opts.config ?? {},
    hub: opts.hub,
  });
  let lastStep = 0;
  let stop = () => {};
  const done = new Promise<void>((resolve, reject) => {
    const sub = events$.subscribe({
      next: (e) => {
        lastStep = e.step;
        if (e.type === 'run-end') store.close(e.status, e.step, e.error);
        else if (e.type === 'run-start')
          store.append({ ...e, meta: { ...e.meta, runId: store.runId } });
        else store.append(e);
      },
      error: (err: unknown) => {
        store.close('failed', lastStep, String(err));
        reject(err instanceof Error ? err : new Error(String(err)));
      },
      complete: () => {
        store.close('completed', lastStep);
        resolve();
      },
    });
    stop = () => {
      sub.unsubscribe();
      store.close('stopped', lastStep);
      resolve();
    };
  });
  return { store, done, stop };
}
