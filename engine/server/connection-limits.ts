import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** How long a client may take, and how many connections it may hold (see docs/reliability.md). */
export interface ConnectionLimits {
  /** Time to send the request line and headers; then 408 and the socket closed. Default 10 s. */
  headersTimeoutMs: number;
  /**
   * Time to send a whole request, body included (a 64 MiB snapshot upload at 1.8 Mbit/s); then
   * 408 and the socket closed. Time the server takes to answer does not count. Default 300 s.
   */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. Default 5 s. */
  keepAliveTimeoutMs: number;
  /** Open connections (HTTP and WebSocket) at once; more are refused with 503. Default 512. */
  maxConnections: number;
  /** Open connections from one remote address; more are refused with 503. Default 128. */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 512,
  maxConnectionsPerAddress: 128,
};

/**
 * Checks and completes limits given in part: each a positive integer (timeouts in ms), the
 * header time at most the request time. Throws one line naming the first bad one.
 */
export function connectionLimits(given: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const limits = { ...DEFAULT_CONNECTION_LIMITS };
  for (const key of Object.keys(DEFAULT_CONNECTION_LIMITS) as (keyof ConnectionLimits)[]) {
    const v = given[key];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 1) {
      throw new Error(`${key} must be an integer >= 1 (got ${String(v)})`);
    }
    limits[key] = v;
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new Error(
      `headersTimeoutMs (${limits.headersTimeoutMs}) must be at most requestTimeoutMs (${limits.requestTimeoutMs})`,
    );
  }
  return limits;
}

/** The environment variable of each limit (`PHASEWATCH_REQUEST_TIMEOUT_MS=600000`). */
export const LIMIT_ENV: Record<keyof ConnectionLimits, string> = {
  headersTimeoutMs: 'PHASEWATCH_HEADERS_TIMEOUT_MS',
  requestTimeoutMs: 'PHASEWATCH_REQUEST_TIMEOUT_MS',
  keepAliveTimeoutMs: 'PHASEWATCH_KEEP_ALIVE_TIMEOUT_MS',
  maxConnections: 'PHASEWATCH_MAX_CONNECTIONS',
  maxConnectionsPerAddress: 'PHASEWATCH_MAX_CONNECTIONS_PER_ADDRESS',
};

/** The limits set in the environment (`LIMIT_ENV`); a bad value throws one line naming it. */
export function limitsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<ConnectionLimits> {
  const out: Partial<ConnectionLimits> = {};
  for (const [key, name] of Object.entries(LIMIT_ENV) as [keyof ConnectionLimits, string][]) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    const v = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(v) || v < 1) {
      throw new Error(`${name} must be an integer >= 1 (got ${JSON.stringify(text)})`);
    }
    out[key] = v;
  }
  return out;
}

/**
 * How often Node looks for requests past their time: a quarter of the shorter timeout, between
 * 10 ms and 1 s (Node's own default, 30 s, would let a 10 s header timeout run to 40 s).
 */
export function checkingIntervalMs(limits: ConnectionLimits): number {
  const shorter = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return Math.max(10, Math.min(1000, Math.floor(shorter / 4)));
}

/**
 * Counts the server's connections, in all and by remote address, and refuses one over either
 * cap at once: a `503` with `retry-after` and one line, then the socket is closed. Nothing a
 * refused connection sends is served (`refused(socket)` is true for it: the request and upgrade
 * handlers drop it). Installed before the HTTP server's own listener, so a refused socket is
 * counted nowhere and costs no parser time.
 */
export function limitConnections(
  server: Server,
  limits: Pick<ConnectionLimits, 'maxConnections' | 'maxConnectionsPerAddress'>,
): { refused(socket: Socket): boolean; readonly open: number } {
  const byAddress = new Map<string, number>();
  const refusedSockets = new WeakSet<Socket>();
  let open = 0;
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const mine = byAddress.get(address) ?? 0;
    const why =
      open >= limits.maxConnections
        ? `the server holds ${open} connections, the most it takes`
        : mine >= limits.maxConnectionsPerAddress
          ? `${mine} connections from ${address} are open, the most one address may hold`
          : undefined;
    if (why !== undefined) {
      refusedSockets.add(socket);
      socket.on('error', () => socket.destroy());
      const body = `${why}: try again later\n`;
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 1\r\n' +
          `content-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      // Whatever it sent meanwhile is not read; the socket goes once the reply is out.
      socket.once('finish', () => socket.destroy());
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    open++;
    byAddress.set(address, mine + 1);
    socket.once('close', () => {
      open--;
      const n = (byAddress.get(address) ?? 1) - 1;
      if (n > 0) byAddress.set(address, n);
      else byAddress.delete(address);
    });
  });
  return {
    refused: (socket) => refusedSockets.has(socket),
    get open() {
      return open;
    },
  };
}
