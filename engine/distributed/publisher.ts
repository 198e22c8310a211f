import type { Redis } from 'ioredis';
import type { RunEvent } from '../../streams/events.js';
import { readRunEvents } from '../../streams/replay.js';
import { DEFAULT_MAX_LEN, DEFAULT_PREFIX, keys } from './redis.js';

export interface StreamPublisherOptions {
  /** Key prefix (default `pw`). */
  prefix?: string;
  /** Entries kept per run stream, approximately (default 100 000). */
  maxLen?: number;
}

/** Index entries kept (one per run start or resume). */
const INDEX_MAX_LEN = 10_000;

/**
 * Appends stored run events to their run's Redis Stream (`XADD <prefix>:events:<runId> MAXLEN ~
 * maxLen`), in the order given: commands on one connection run in order, so `publish` does not
 * wait for each. A failed XADD is kept and thrown by the next `flush`.
 *
 * @example
 * const pub = new StreamPublisher(redis);
 * store.events$.subscribe((e) => pub.publish(e));
 * await pub.flush();
 */
export class StreamPublisher {
  private readonly keys: ReturnType<typeof keys>;
  private readonly maxLen: number;
  private pending = new Set<Promise<unknown>>();
  private failure: unknown;

  constructor(
    private readonly redis: Redis,
    opts: StreamPublisherOptions = {},
  ) {
    this.keys = keys(opts.prefix ?? DEFAULT_PREFIX);
    this.maxLen = opts.maxLen ?? DEFAULT_MAX_LEN;
    if (!Number.isInteger(this.maxLen) || this.maxLen < 100) {
      throw new Error(`maxLen must be an integer >= 100 (got ${String(opts.maxLen)})`);
    }
  }

  /** The highest `seq` in the run's stream (0 when it has none). */
  async lastSeq(runId: string): Promise<number> {
    const last = await this.redis.xrevrange(this.keys.events(runId), '+', '-', 'COUNT', 1);
    if (!last.length) return 0;
    return seqOf(last[0][1]);
  }

  /** Tells live servers that the run's stream has (new) events: an entry in the index stream. */
  announce(runId: string): Promise<unknown> {
    return this.track(
      this.redis.xadd(this.keys.runs, 'MAXLEN', '~', INDEX_MAX_LEN, '*', 'run', runId),
    );
  }

  /** Appends one stored event to its run's stream. */
  publish(e: RunEvent): void {
    void this.track(
      this.redis.xadd(
        this.keys.events(e.runId),
        'MAXLEN',
        '~',
        this.maxLen,
        '*',
        'e',
        JSON.stringify(e),
      ),
    );
  }

  /**
   * Publishes the events stored in `runDir` with `above < seq < below`, in file order (those
   * a killed writer stored but never published); returns how many.
   */
  publishStored(runDir: string, above: number, below = Infinity): number {
    let n = 0;
    for (const e of readRunEvents(runDir, above)) {
      if (e.seq <= above || e.seq >= below) continue;
      this.publish(e);
      n++;
    }
    return n;
  }

  /** Waits for every XADD so far; throws the first that failed. */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
    if (this.failure !== undefined) {
      const err = this.failure;
      this.failure = undefined;
      throw err instanceof Error ? err : new Error(`XADD failed: ${JSON.stringify(err)}`);
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    const tracked = p.catch((err: unknown) => {
      this.failure ??= err;
      return undefined as T;
    });
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
    return tracked;
  }
}

/** The `seq` of a stream entry's fields (`['e', json]`); 0 when it has none. */
export function seqOf(fields: string[]): number {
  const i = fields.indexOf('e');
  if (i < 0 || i + 1 >= fields.length) return 0;
  try {
    const e = JSON.parse(fields[i + 1]) as { seq?: unknown };
    return typeof e.seq === 'number' ? e.seq : 0;
  } catch {
    return 0;
  }
}

/** The event of a stream entry's fields, or undefined when it holds none. */
export function eventOf(fields: string[]): RunEvent | undefined {
  const i = fields.indexOf('e');
  if (i < 0 || i + 1 >= fields.length) return undefined;
  try {
    const e = JSON.parse(fields[i + 1]) as RunEvent;
    return typeof e === 'object' && e !== null && typeof e.seq === 'number' ? e : undefined;
  } catch {
    return undefined;
  }
}
