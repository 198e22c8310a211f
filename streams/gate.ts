/**
 * Backpressure between training and the work it feeds. Training awaits `ready()` before
 * each step; it waits while `limit` items are in flight (`enter`/`leave`) or while someone
 * holds a `pause()` (a checkpoint being written). Everything is synchronous except the wait.
 *
 * @example
 * const gate = new Gate(2);
 * training(model, data, { steps, gate });                  // waits when 2 snapshots queue
 * steps$.pipe(snapshotEvery(200, model, { conditions, seed, gate }));
 */
export class Gate {
  private inFlight = 0;
  private pauses = 0;
  private waiters: (() => void)[] = [];

  constructor(readonly limit = 2) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new Error(`gate limit must be a positive integer (got ${String(limit)})`);
    }
  }

  /** True while training must wait. */
  get closed(): boolean {
    return this.pauses > 0 || this.inFlight >= this.limit;
  }

  /** Resolves when training may take its next step; undefined when it may right away. */
  ready(): Promise<void> | undefined {
    if (!this.closed) return undefined;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  enter(): void {
    this.inFlight++;
  }

  leave(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.wake();
  }

  /** Holds training until the returned function is called (once). */
  pause(): () => void {
    this.pauses++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.pauses--;
      this.wake();
    };
  }

  private wake(): void {
    if (this.closed) return;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }
}
