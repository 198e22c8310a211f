import { createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { EMPTY, merge, type Observable } from 'rxjs';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RunEvent } from '../../streams/events.js';
import { ensureBundle } from './bundle.js';
import { ClientSession } from './client-session.js';
import {
  checkingIntervalMs,
  connectionLimits,
  limitConnections,
  limitsFromEnv,
  type ConnectionLimits,
} from './connection-limits.js';
import type { FrameCache } from './encode.js';
import {
  isLoopbackHost,
  originAllowed,
  resolveToken,
  tokenMatches,
  urlHost,
} from './host-check.js';
import { MAX_CLIENT_FRAME_BYTES, PROTOCOL_VERSION } from '../../streams/protocol.js';
import { hostsAllowed, httpHandler, requestTarget } from './http-handler.js';
import { createIngest } from './ingest.js';
import { ReplayCache } from './replay-cache.js';
import { ReplayIndex } from './replay-index.js';
import { RunCatalog } from './run-catalog.js';

export interface LiveServerOptions {
  /** Stored runs to list and replay from. */
  runsDir: string;
  /** Events as they happen, each already written to its run's events.jsonl (a RunStore hub). */
  live$: Observable<RunEvent>;
  /** 0 picks a free port. Default 4321. */
  port?: number;
  /** Default 127.0.0.1. Any other than loopback requires a token. */
  host?: string;
  /** Required as `?token=` on the page and the socket; default `PHASEWATCH_TOKEN`. */
  token?: string;
  /** Step events held per client that is behind before the oldest are dropped. */
  maxPendingSteps?: number;
  /** Serves the ingest API (`/api/...`, `ingest.ts`) for trainers of other frameworks. Default true. */
  ingest?: boolean;
  /** Dashboards connected at once; more are refused with 503. Default 100. */
  maxClients?: number;
  /** How often stored runs are looked at again (new runs, writers that died). Default 2000 ms. */
  rescanMs?: number;
  /**
   * Header, request and keep-alive timeouts and connection caps (total, per remote address);
   * defaults in `DEFAULT_CONNECTION_LIMITS`, or the environment (`LIMIT_ENV`, e.g.
   * `PHASEWATCH_REQUEST_TIMEOUT_MS`); docs/reliability.md gives the figures.
   */
  limits?: Partial<ConnectionLimits>;
  /**
   * Bytes of replay frames held for all clients (`ReplayCache`): a run's log is read once for
   * every dashboard that replays it. 0 turns it off (each replay reads the file itself).
   * Default `PHASEWATCH_REPLAY_CACHE_MB` MiB, else 64 MiB.
   */
  replayCacheBytes?: number;
}

/** `PHASEWATCH_REPLAY_CACHE_MB` in bytes, if set; a bad value is a one-line error. */
function replayCacheFromEnv(): number | undefined {
  const raw = process.env.PHASEWATCH_REPLAY_CACHE_MB;
  if (raw === undefined || raw === '') return undefined;
  const mb = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !Number.isFinite(mb) || mb > 1 << 20) {
    throw new Error(
      `PHASEWATCH_REPLAY_CACHE_MB must be a number of MiB from 0 to 1048576 (got ${JSON.stringify(raw.slice(0, 60))})`,
    );
  }
  return Math.round(mb * (1 << 20));
}

export interface LiveServer {
  /** The page to open, token included. */
  url: string;
  port: number;
  /** Number of connected dashboards. */
  readonly clients: number;
  /** Drops every socket, as a network failure would; dashboards reconnect by themselves. */
  disconnectAll(): void;
  close(): Promise<void>;
}

/** Live events are sent to the browsers once per frame of this many milliseconds. */
export const FRAME_MS = 16;

/** The one-line refusal of an upgrade request the server will not take. */
function refuseUpgrade(socket: Duplex, status: string): void {
  if (socket.writable) {
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  } else {
    socket.destroy();
  }
}

/**
 * Serves the dashboard and streams run events to it over a WebSocket (`/ws`, protocol in
 * `streams/protocol.ts`). A slow or stalled browser never slows the run: the live stream only
 * queues into bounded per-client outboxes, which are written once per frame. No request can
 * throw out of a handler: whatever a client sends gets a 4xx, an `error` reply or a closed
 * socket, and the process (and the run it may share) carries on.
 *
 * @example
 * const hub = new Subject<RunEvent>();
 * const server = await startServer({ runsDir: 'runs', live$: hub, port: 0 });
 * console.log(`dashboard: ${server.url}`);
 * RunStore.create({ runsDir: 'runs', backend: 'cpu', config: {}, hub });
 */
export async function startServer(opts: LiveServerOptions): Promise<LiveServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = resolveToken(opts.token);
  if (!isLoopbackHost(host) && token === undefined) {
    throw new Error(`--host ${host} requires --token (or PHASEWATCH_TOKEN)`);
  }
  const port = opts.port ?? 4321;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be an integer in 0..65535 (got ${port})`);
  }
  const limits = connectionLimits({ ...limitsFromEnv(), ...opts.limits });
  const cacheBytes = opts.replayCacheBytes ?? replayCacheFromEnv() ?? 64 << 20;
  try {
    await ensureBundle();
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    throw new Error(`cannot build the dashboard bundle: ${first}`, { cause: err });
  }

  const catalog = new RunCatalog(opts.runsDir);
  const sessions = new Set<ClientSession>();
  const dirty = new Set<ClientSession>();
  let frame: NodeJS.Timeout | null = null;

  const flushFrame = () => {
    frame = null;
    const pending = [...dirty];
    dirty.clear();
    const cache: FrameCache = new Map();
    for (const s of pending) if (s.flush(cache)) dirty.add(s);
    if (dirty.size) scheduleFrame();
  };
  const scheduleFrame = () => {
    frame ??= setTimeout(flushFrame, FRAME_MS);
  };
  const markDirty = (s: ClientSession) => {
    dirty.add(s);
    scheduleFrame();
  };
  const broadcastRuns = () => {
    for (const s of sessions) s.offerRuns();
  };
  // Runs another process starts, and writers that died (their runs turn `interrupted`).
  const rescan = setInterval(() => {
    if (catalog.rescan()) broadcastRuns();
  }, opts.rescanMs ?? 2000);
  rescan.unref();
  const maxClients = opts.maxClients ?? 100;
  const index = new ReplayIndex();
  const cache = cacheBytes > 0 ? new ReplayCache(cacheBytes) : undefined;

  const ingest =
    opts.ingest === false
      ? undefined
      : createIngest({
          runsDir: opts.runsDir,
          token,
          // a label edited from a dashboard shows on every dashboard at once
          onLabels: (meta) => {
            if (catalog.relabel(meta)) broadcastRuns();
          },
        });
  const live = merge(opts.live$, ingest?.events$ ?? EMPTY).subscribe({
    next: (event) => {
      if (catalog.observe(event)) broadcastRuns();
      for (const s of sessions) s.offer(event);
    },
    error: () => undefined,
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES });
  wss.on('connection', (ws: WebSocket) => {
    const session = new ClientSession(ws, {
      runsDir: opts.runsDir,
      catalog,
      markDirty,
      maxPendingSteps: opts.maxPendingSteps,
      index,
      cache,
    });
    sessions.add(session);
    ws.on('message', (data, isBinary) => session.receive(data, isBinary));
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      session.dispose();
      sessions.delete(session);
      dirty.delete(session);
    });
    catalog.refreshSoon();
    session.send({
      v: PROTOCOL_VERSION,
      type: 'runs',
      runs: catalog.list(),
      summaries: catalog.summaries(),
    });
  });

  const handler = httpHandler(token, ingest ? (req, res) => ingest.handle(req, res) : undefined);
  // Slow senders (a header a byte a minute, a body trickled) are cut with 408 once their time
  // is up; a whole request keeps 5 minutes, for an upload of a big snapshot over a slow link.
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: checkingIntervalMs(limits),
    },
    (req, res) => {
      if (!connections.refused(req.socket)) handler(req, res);
    },
  );
  // Many slow clients cannot take every file handle: connections are capped, in all and per
  // remote address (a 503 beyond).
  const connections = limitConnections(server, limits);
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    // Node hands the raw socket over without an error listener: a reset would throw.
    socket.on('error', () => socket.destroy());
    if (connections.refused(req.socket)) return;
    try {
      const target = requestTarget(req.url);
      if (!target) return refuseUpgrade(socket, '400 Bad Request');
      if (target.pathname !== '/ws') return refuseUpgrade(socket, '404 Not Found');
      if (!tokenMatches(token, target.query.get('token'))) {
        return refuseUpgrade(socket, '401 Unauthorized');
      }
      if (!originAllowed(req.headers.origin, req.headers.host)) {
        return refuseUpgrade(socket, '403 Forbidden');
      }
      if (!hostsAllowed(target, req.headers.host, token)) {
        return refuseUpgrade(socket, '403 Forbidden');
      }
      if (sessions.size >= maxClients) return refuseUpgrade(socket, '503 Service Unavailable');
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    } catch {
      refuseUpgrade(socket, '400 Bad Request');
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      live.unsubscribe();
      clearInterval(rescan);
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `--port ${port} is already in use on ${host} (use --port 0 for any free port)`
            : `cannot listen on ${host}:${port}: ${err.message}`,
        ),
      );
    });
    server.listen(port, host, () => resolve());
  });
  // After start-up (e.g. EMFILE when out of file descriptors): keep serving, never throw.
  server.on('error', () => undefined);
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const query = token === undefined ? '' : `?token=${encodeURIComponent(token)}`;

  return {
    url: `http://${urlHost(host)}:${boundPort}/${query}`,
    port: boundPort,
    get clients() {
      return sessions.size;
    },
    disconnectAll() {
      for (const s of sessions) s.ws.terminate();
    },
    close() {
      live.unsubscribe();
      ingest?.close();
      clearInterval(rescan);
      if (frame) clearTimeout(frame);
      frame = null;
      for (const s of sessions) s.ws.terminate();
      wss.close();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
