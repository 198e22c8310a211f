/**
 * Redis connections and key names shared by the queue backend, the workers, the stream
 * publisher and the live server's consumer.
 *
 * Keys (prefix `pw` by default):
 * - `pw:events:<runId>`: the run's events, one stream entry per stored event (field `e`: JSON),
 *   trimmed to about `maxLen` entries (`XADD … MAXLEN ~`).
 * - `pw:runs`: one entry (field `run`) each time a worker starts or resumes a run: how a live
 *   server learns which run streams to read.
 * - `pw:follow:<group>`: the run streams a consumer group still follows (a hash runId → 1).
 * - `pw:seen:<group>`: per run, the highest `seq` the group has delivered (a hash runId → seq).
 * BullMQ keeps its own keys under `bull:<queue>:…`.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** The queue sweeps put their runs on unless told otherwise. */
export const DEFAULT_QUEUE = 'phasewatch-runs';
/** The key prefix of the event streams unless told otherwise. */
export const DEFAULT_PREFIX = 'pw';
/** Entries kept per run stream (approximately): a lagging consumer may lose older ones. */
export const DEFAULT_MAX_LEN = 100_000;

/** Checks a Redis URL: `redis://host:port[/db]` or `rediss://…`; one line naming it otherwise. */
export function checkRedisUrl(url: unknown, field = '--redis'): string {
  const hint = 'a redis:// or rediss:// URL like redis://127.0.0.1:6379';
  if (typeof url !== 'string' || url === '') {
    throw new Error(`${field} must be ${hint} (got ${JSON.stringify(url)})`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${field} must be ${hint} (got ${JSON.stringify(url)})`);
  }
  if ((parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || !parsed.hostname) {
    throw new Error(`${field} must be ${hint} (got ${JSON.stringify(url)})`);
  }
  return url;
}

/**
 * A connection that survives a Redis restart: it reconnects by itself and queues commands
 * meanwhile (no command fails for want of a connection), as BullMQ's workers require.
 */
export function connect(url: string, opts: RedisOptions = {}): Redis {
  return new Redis(checkRedisUrl(url), {
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(50 * times, 1000),
    ...opts,
  });
}

/** The key names of one prefix (see the module comment). */
export function keys(prefix = DEFAULT_PREFIX) {
  return {
    events: (runId: string) => `${prefix}:events:${runId}`,
    runs: `${prefix}:runs`,
    follow: (group: string) => `${prefix}:follow:${group}`,
    seen: (group: string) => `${prefix}:seen:${group}`,
  };
}

/** Checks a name used in Redis keys (queue, group, prefix): letters, digits, `.`, `_`, `-`. */
export function checkName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[\w.-]{1,64}$/.test(value)) {
    throw new Error(
      `${field} must be 1 to 64 letters, digits, '.', '_' or '-' (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

/** Closes a connection, waiting for it to be gone; never throws. */
export async function disconnect(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  try {
    // A server that is down would keep QUIT queued forever: give it a second.
    await Promise.race([
      redis.quit(),
      new Promise((resolve) => (timer = setTimeout(resolve, 1000))),
    ]);
  } catch {
    // closed meanwhile
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}
