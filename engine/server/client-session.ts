import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { RunEvent } from '../../streams/events.js';
import { readRunEvents } from '../../streams/replay.js';
import type { ServerMessage, SubscribeMessage } from '../../streams/protocol.js';
import { parseClientMessage } from '../../streams/protocol.js';
import { encode, encodeBatch, encodeEvents, type FrameCache } from './encode.js';
import { Outbox } from './outbox.js';
import type { RunCatalog } from './run-catalog.js';

/** Above this many bytes waiting in the socket, a client is behind: hold and coalesce. */
export const HIGH_WATER_BYTES = 1 << 20;
/** Replays go out in frames of this many events. */
const REPLAY_CHUNK = 2000;

export interface SessionDeps {
  runsDir: string;
  catalog: RunCatalog;
  /** Asks the server to call `flush()` on the next frame. */
  markDirty(session: ClientSession): void;
  maxPendingSteps?: number;
}

/**
 * One connected dashboard: what it follows, and the events waiting for it. `offer()` is
 * called in the path of the live stream and only queues; the socket is written in `flush()`,
 * once per frame, and not at all while the socket is backed up.
 */
export class ClientSession {
  private all = false;
  private readonly runs = new Set<string>();
  /** Runs being replayed from disk: live events wait here until the replay is out. */
  private readonly replaying = new Map<string, RunEvent[]>();
  private readonly outbox: Outbox;

  constructor(
    readonly ws: WebSocket,
    private readonly deps: SessionDeps,
  ) {
    this.outbox = new Outbox(deps.maxPendingSteps);
  }

  /** Queues a live event if this client follows its run. Never touches the socket. */
  offer(event: RunEvent): void {
    const buffer = this.replaying.get(event.runId);
    if (buffer) {
      buffer.push(event);
    } else if (this.all || this.runs.has(event.runId)) {
      this.outbox.push(event);
      this.deps.markDirty(this);
    }
  }

  /** Sends what is queued, unless the socket is backed up; true when something stays queued. */
  flush(cache: FrameCache = new Map()): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    if (this.outbox.size === 0) return false;
    if (this.ws.bufferedAmount > HIGH_WATER_BYTES) {
      this.outbox.coalesce();
      return true;
    }
    const { events, gaps } = this.outbox.drain();
    for (const gap of gaps) this.send({ v: 1, type: 'gap', ...gap });
    if (events.length) this.ws.send(encodeBatch(events, cache), { binary: false });
    return false;
  }

  send(message: ServerMessage): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(encode(message));
  }

  /** Handles one client frame; anything wrong gets an `error` reply, never an exception. */
  receive(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (isBinary) {
      this.send({
        v: 1,
        type: 'error',
        message: 'binary frames are not supported; send JSON text',
      });
      return;
    }
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString()
      : Buffer.isBuffer(data)
        ? data.toString()
        : Buffer.from(new Uint8Array(data)).toString();
    const msg = parseClientMessage(text);
    if (typeof msg === 'string') {
      this.send({ v: 1, type: 'error', message: msg });
    } else if (msg.type === 'subscribe') {
      this.subscribe(msg);
    } else if (msg.runId === undefined) {
      this.all = false;
      this.runs.clear();
      this.replaying.clear();
      this.outbox.discard();
    } else {
      this.runs.delete(msg.runId);
      this.replaying.delete(msg.runId);
      this.outbox.discard(msg.runId);
    }
  }

  private subscribe({ runId, sinceSeq }: SubscribeMessage): void {
    if (runId !== undefined && !this.deps.catalog.has(runId)) {
      this.deps.catalog.refresh();
      if (!this.deps.catalog.has(runId)) {
        this.send({ v: 1, type: 'error', message: `unknown runId "${runId}"` });
        return;
      }
    }
    if (runId === undefined) this.all = true;
    else this.runs.add(runId);
    if (sinceSeq === undefined) return;
    const targets = runId === undefined ? this.deps.catalog.list().map((m) => m.runId) : [runId];
    for (const id of targets) void this.replay(id, sinceSeq);
  }

  /**
   * Stored events after `sinceSeq`, then the live ones that came meanwhile, with no gap and
   * no duplicate: live events of the run are held from before the file is read, and only
   * those newer than the last stored one are passed on. The replay goes out in chunks with a
   * turn of the event loop between them, so a long run does not stall a training loop that
   * shares this process.
   */
  private async replay(runId: string, sinceSeq: number): Promise<void> {
    const held: RunEvent[] = [];
    this.replaying.set(runId, held);
    // Whatever was queued for this run is on disk too and comes back in order below.
    this.outbox.discard(runId);
    // Superseded by a newer subscribe or an unsubscribe, or the socket went away.
    const abandoned = () =>
      this.replaying.get(runId) !== held || this.ws.readyState !== WebSocket.OPEN;
    let stored: RunEvent[] = [];
    try {
      stored = readRunEvents(join(this.deps.runsDir, runId), sinceSeq);
    } catch (err) {
      this.send({ v: 1, type: 'error', message: (err as Error).message });
    }
    for (let i = 0; i < stored.length; i += REPLAY_CHUNK) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      if (abandoned()) return;
      this.ws.send(encodeEvents(stored.slice(i, i + REPLAY_CHUNK)));
    }
    if (abandoned()) return;
    const lastSeq = stored.length ? stored[stored.length - 1].seq : sinceSeq;
    this.replaying.delete(runId);
    for (const e of held) {
      if (e.seq > lastSeq) this.offer(e);
    }
    this.send({ v: 1, type: 'replayed', runId, lastSeq });
  }
}
