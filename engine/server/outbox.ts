import type { RunEvent } from '../../streams/events.js';

/** Step and metric events of one run that a client will never get: it fell too far behind. */
export interface Gap {
  runId: string;
  dropped: number;
  fromSeq: number;
  toSeq: number;
}

/** Kinds that come many per step: beyond the bound, the oldest are dropped (a gap). */
const DROPPABLE = new Set<RunEvent['type']>(['step', 'metric']);
/** Kinds of which a client that is behind gets only the newest per run (and name). */
const COALESCED = new Set<RunEvent['type']>([
  'assessment',
  'snapshot',
  'curve',
  'matrix',
  'embedding',
  'images',
]);

/**
 * The events waiting for one client, bounded. Step and metric events beyond `maxSteps` are
 * dropped oldest first (a quarter at a time, so each push stays O(1) amortised) and
 * remembered as gaps; `coalesce()` keeps only the newest assessment and snapshot per run, and
 * the newest curve, matrix, embedding and images per run and name. Phase, alert, run-start
 * and run-end events are never dropped: they are rare and the dashboard needs every one.
 */
export class Outbox {
  private queue: RunEvent[] = [];
  private steps = 0;
  private gaps = new Map<string, Gap>();

  constructor(readonly maxSteps = 20_000) {}

  get size(): number {
    return this.queue.length;
  }

  push(event: RunEvent): void {
    this.queue.push(event);
    if (DROPPABLE.has(event.type) && ++this.steps > this.maxSteps) this.dropOldestSteps();
  }

  /** Keeps the newest assessment and snapshot of each run; called while the client is behind. */
  coalesce(): void {
    const seen = new Set<string>();
    const kept: RunEvent[] = [];
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const e = this.queue[i];
      if (COALESCED.has(e.type)) {
        const key = `${e.type}\n${e.runId}\n${'name' in e ? e.name : ''}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      kept.push(e);
    }
    if (kept.length !== this.queue.length) this.queue = kept.reverse();
  }

  /** Forgets the queued events of one run (or all), e.g. when they are about to be replayed. */
  discard(runId?: string): void {
    if (runId === undefined) {
      this.queue = [];
      this.gaps.clear();
    } else {
      this.queue = this.queue.filter((e) => e.runId !== runId);
      this.gaps.delete(runId);
    }
    this.steps = this.queue.reduce((n, e) => n + (DROPPABLE.has(e.type) ? 1 : 0), 0);
  }

  /** Everything queued, in arrival order, and the gaps since the last drain. */
  drain(): { events: RunEvent[]; gaps: Gap[] } {
    const out = { events: this.queue, gaps: [...this.gaps.values()] };
    this.queue = [];
    this.steps = 0;
    this.gaps.clear();
    return out;
  }

  private dropOldestSteps(): void {
    let toDrop = this.steps - Math.floor(this.maxSteps * 0.75);
    const kept: RunEvent[] = [];
    for (const e of this.queue) {
      if (toDrop > 0 && DROPPABLE.has(e.type)) {
        toDrop--;
        this.steps--;
        const gap = this.gaps.get(e.runId);
        if (gap) {
          gap.dropped++;
          gap.toSeq = e.seq;
        } else {
          this.gaps.set(e.runId, { runId: e.runId, dropped: 1, fromSeq: e.seq, toSeq: e.seq });
        }
        continue;
      }
      kept.push(e);
    }
    this.queue = kept;
  }
}
