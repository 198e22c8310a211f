import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { defer, filter, Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { RunEvent } from '../../streams/events.js';
import { isValidRunId } from '../../streams/protocol.js';
import { eventOf } from './publisher.js';
import { checkName, connect, DEFAULT_PREFIX, disconnect, keys } from './redis.js';

export interface RunStreamsOptions {
  /** The Redis server (`redis://host:port`). */
  redis: string;
  /**
   * The consumer group (default `phasewatch-serve`): a server that restarts with the same group
   * goes on from the last entry it acknowledged. Two servers that should each see every event
   * need two groups.
   */
  group?: string;
  /** This consumer's name in the group (default `server`); a restart must reuse it. */
  consumer?: string;
  /** Key prefix of the streams (default `pw`). */
  prefix?: string;
  /** How long one read waits for new entries (default 1000 ms). */
  blockMs?: number;
  /** Entries per stream per read (default 500). */
  count?: number;
}

type Entries = [id: string, fields: string[]][];
type ReadReply = [key: string, entries: Entries][] | null;

/**
 * The events of every run that workers publish to Redis Streams (`StreamPublisher`), as one
 * stream of stored events for the live server's `live$`: each run's events in `seq` order,
 * each `seq` once (an event a resumed or retried run sends again is dropped), across restarts
 * of this consumer and of Redis (AOF on).
 *
 * Read with a consumer group: one group per run stream plus one on the index stream that
 * announces runs. An entry is acknowledged (`XACK`, with the run's highest delivered `seq` in
 * the same transaction) after it has been passed on; entries passed on but not acknowledged
 * when the consumer stopped are read again from its pending list first when it restarts, so
 * nothing is missed. A run stays followed until its `run-end` with status `completed`.
 * Unsubscribing stops reading.
 *
 * @example
 * const server = await startServer({ runsDir: '/shared/runs', live$: runStreams({ redis: url }) });
 */
export function runStreams(opts: RunStreamsOptions): Observable<RunEvent> {
  const group = checkName('--group', opts.group ?? 'phasewatch-serve');
  const consumer = checkName('consumer', opts.consumer ?? 'server');
  const prefix = checkName('prefix', opts.prefix ?? DEFAULT_PREFIX);
  const blockMs = opts.blockMs ?? 1000;
  const count = opts.count ?? 500;
  if (!Number.isInteger(blockMs) || blockMs < 1) {
    throw new Error(`blockMs must be an integer >= 1 (got ${String(opts.blockMs)})`);
  }
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`count must be an integer >= 1 (got ${String(opts.count)})`);
  }
  const k = keys(prefix);
  return new Observable<RunEvent>((subscriber) => {
    const redis = connect(opts.redis, { connectionName: `phasewatch-serve-${hostname()}` });
    redis.on('error', () => undefined);
    let stopped = false;
    const followed = new Set<string>();
    const seen = new Map<string, number>();

    const createGroup = async (key: string): Promise<void> => {
      try {
        await redis.xgroup('CREATE', key, group, '0', 'MKSTREAM');
      } catch (err) {
        if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
      }
    };
    const follow = async (runId: string): Promise<void> => {
      if (followed.has(runId)) return;
      await createGroup(k.events(runId));
      await redis.hset(k.follow(group), runId, '1');
      followed.add(runId);
    };
    const seenOf = async (runId: string): Promise<number> => {
      let s = seen.get(runId);
      if (s === undefined) {
        s = Number((await redis.hget(k.seen(group), runId)) ?? 0);
        seen.set(runId, s);
      }
      return s;
    };

    /** Passes on what one read returned, then acknowledges it. */
    const handle = async (reply: ReadReply): Promise<number> => {
      let n = 0;
      for (const [key, entries] of reply ?? []) {
        if (!entries.length) continue;
        n += entries.length;
        const ids = entries.map(([id]) => id);
        if (key === k.runs) {
          for (const [, fields] of entries) {
            const runId = fields[fields.indexOf('run') + 1];
            if (fields.includes('run') && isValidRunId(runId)) await follow(runId);
          }
          await redis.xack(key, group, ...ids);
          continue;
        }
        const runId = key.slice(k.events('').length);
        let last = await seenOf(runId);
        let ended = false;
        for (const [, fields] of entries) {
          const e = eventOf(fields);
          if (!e || e.runId !== runId || e.seq <= last) continue;
          // Stopped meanwhile: what was not passed on stays pending for the next start.
          if (stopped || subscriber.closed) return n;
          last = e.seq;
          subscriber.next(e);
          ended = e.type === 'run-end' && e.status === 'completed';
        }
        seen.set(runId, last);
        const tx = redis
          .multi()
          .xack(key, group, ...ids)
          .hset(k.seen(group), runId, String(last));
        if (ended) tx.hdel(k.follow(group), runId);
        await tx.exec();
        if (ended) followed.delete(runId);
      }
      return n;
    };

    const read = (id: '0' | '>', block: boolean): Promise<ReadReply> => {
      const streams = [k.runs, ...[...followed].map((r) => k.events(r))];
      const args: (string | number)[] = ['GROUP', group, consumer, 'COUNT', count];
      if (block) args.push('BLOCK', blockMs);
      args.push('STREAMS', ...streams, ...streams.map(() => id));
      return (
        redis as unknown as { xreadgroup(...a: (string | number)[]): Promise<ReadReply> }
      ).xreadgroup(...args);
    };

    const loop = async (): Promise<void> => {
      await createGroup(k.runs);
      for (const runId of await redis.hkeys(k.follow(group))) {
        if (isValidRunId(runId)) await follow(runId);
      }
      // What this consumer was handed and never acknowledged (before a restart, or by an
      // earlier instance of the same name still closing): first, then every few reads.
      const pending = async (): Promise<void> => {
        while (!stopped && (await handle(await read('0', false))) > 0) {
          // Acknowledged entries leave the pending list: read it again until it is empty.
        }
      };
      await pending();
      let reads = 0;
      while (!stopped) {
        try {
          if (++reads % 10 === 0) await pending();
          await handle(await read('>', true));
        } catch (err) {
          if (stopped) return;
          // A stream deleted meanwhile (its group gone with it): make the groups again.
          if (String((err as Error).message).includes('NOGROUP')) {
            await createGroup(k.runs);
            for (const runId of followed) await createGroup(k.events(runId));
            continue;
          }
          throw err;
        }
      }
    };

    loop().then(
      () => subscriber.complete(),
      (err: unknown) => {
        if (!stopped) subscriber.error(err);
      },
    );
    return () => {
      stopped = true;
      void disconnect(redis);
    };
  });
}

/** The `seq` of the last whole line of a run's events.jsonl (0 when none), read from its tail. */
export function lastLoggedSeq(runDir: string): number {
  const file = join(runDir, 'events.jsonl');
  if (!existsSync(file)) return 0;
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    for (let want = 64 * 1024; ; want *= 4) {
      const start = Math.max(0, size - want);
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      const lines = buf.toString('utf8').split('\n');
      // The last piece is a torn line or ''; the first may be cut unless the read began at 0.
      for (let i = lines.length - 2; i >= (start === 0 ? 0 : 1); i--) {
        try {
          const seq = (JSON.parse(lines[i]) as { seq?: unknown }).seq;
          if (typeof seq === 'number') return seq;
        } catch {
          // an unreadable line: look further back
        }
      }
      if (start === 0) return 0;
    }
  } finally {
    closeSync(fd);
  }
}

/** @deprecated The old name of `lastLoggedSeq` (easily confused with `metaLastSeq`). */
export const lastStoredSeq = lastLoggedSeq;

/**
 * For the live server: drops, per run, the events already stored in `runsDir` when the feed
 * starts (a consumer that restarts catches up on events the server's dashboards replay from
 * disk anyway), and any `seq` already passed. The live server hands a dashboard over from its
 * disk replay to the live feed assuming the feed is never behind the disk; a consumer
 * catching up on a backlog is, so its backlog must not reach the hub.
 *
 * @example startServer({ runsDir, live$: runStreams({ redis }).pipe(newerThanStored(runsDir)) })
 */
export function newerThanStored(runsDir: string): MonoTypeOperatorFunction<RunEvent> {
  return (source) =>
    defer(() => {
      const fence = new Map<string, number>();
      for (const name of existsSync(runsDir) ? readdirSync(runsDir) : []) {
        if (isValidRunId(name)) fence.set(name, lastLoggedSeq(join(runsDir, name)));
      }
      return source.pipe(
        filter((e) => {
          if (e.seq <= (fence.get(e.runId) ?? 0)) return false;
          fence.set(e.runId, e.seq);
          return true;
        }),
      );
    });
}
