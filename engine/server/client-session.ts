import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { WebSocket } from 'ws';
import type { RunEvent } from '../../streams/events.js';
import { describeBadLines, EventLineSplitter, type BadLine } from '../../streams/replay.js';
import type { ServerMessage, SubscribeMessage } from '../../streams/protocol.js';
import { parseClientMessage, PROTOCOL_VERSION } from '../../streams/protocol.js';
import { encode, encodeBatch, type FrameCache } from './encode.js';
import { Outbox } from './outbox.js';
import type { ReplayCache } from './replay-cache.js';
import type { LogMark, ReplayIndex } from './replay-index.js';
import type { RunCatalog } from './run-catalog.js';

/** The `runs` message's entry in a frame's cache (batch keys are lists of event ids). */
const RUNS_KEY = 'runs';

/** Above this many bytes waiting in the socket, a client is behind: hold and coalesce. */
export const HIGH_WATER_BYTES = 1 << 20;
/** A replay frame holds at most this many events… */
const REPLAY_EVENTS = 2000;
/** …or about this many bytes. */
const REPLAY_BYTES = 256 * 1024;
/** Bytes read from `events.jsonl` at a time. */
const READ_BYTES = 64 * 1024;
/** A replay that finds the file behind the live stream this many times in a row gives up. */
const MAX_CATCH_UP_TRIES = 500;

const V = PROTOCOL_VERSION;

export interface SessionDeps {
  runsDir: string;
  catalog: RunCatalog;
  /** Asks the server to call `flush()` on the next frame. */
  markDirty(session: ClientSession): void;
  maxPendingSteps?: number;
  /** Where replays can start reading a log (shared by all clients); none: from the start. */
  index?: ReplayIndex;
  /** Logs read once as frames every replay sends; none: each replay reads the file itself. */
  cache?: ReplayCache;
}

/**
 * One connected dashboard: what it follows, and the events waiting for it. `offer()` is
 * called in the path of the live stream and only queues; the socket is written in `flush()`,
 * once per frame, and not at all while the socket is backed up. Memory per client is bounded:
 * the outbox is bounded, replays are read from disk only as fast as the client reads them, and
 * while the socket is backed up the client's own frames are not read (TCP pushes back).
 */
export class ClientSession {
  private all = false;
  private readonly runs = new Set<string>();
  /**
   * Runs being replayed (or waiting to be): their live events are not queued but read back
   * from disk, where each is before it is published. Value: newest live `seq` seen meanwhile.
   */
  private readonly replaying = new Map<string, number>();
  /** Replays waiting their turn: run → sinceSeq. One replay runs at a time per client. */
  private readonly pending = new Map<string, number>();
  private active: { runId: string; cancelled: boolean } | null = null;
  private runsDirty = false;
  private readonly outbox: Outbox;
  private closed = false;

  constructor(
    readonly ws: WebSocket,
    private readonly deps: SessionDeps,
  ) {
    this.outbox = new Outbox(deps.maxPendingSteps);
  }

  /** Queues a live event if this client follows its run. Never touches the socket. */
  offer(event: RunEvent): void {
    if (this.replaying.has(event.runId)) {
      const seen = this.replaying.get(event.runId) ?? 0;
      if (event.seq > seen) this.replaying.set(event.runId, event.seq);
    } else if (this.all || this.runs.has(event.runId)) {
      this.outbox.push(event);
      this.deps.markDirty(this);
    }
  }

  /** Asks for the run catalogue to be sent on the next frame (only the newest is sent). */
  offerRuns(): void {
    this.runsDirty = true;
    this.deps.markDirty(this);
  }

  /** True while more than `HIGH_WATER_BYTES` wait in the socket. */
  get behind(): boolean {
    return this.ws.bufferedAmount > HIGH_WATER_BYTES;
  }

  /**
   * Sends what is queued, unless the socket is backed up; true when the session needs another
   * look next frame (something stays queued, or reading from the client is paused).
   */
  flush(cache: FrameCache = new Map()): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    if (this.behind) {
      // Stop reading what the client sends until it reads what we sent.
      if (!this.ws.isPaused) this.ws.pause();
      this.outbox.coalesce();
      return true;
    }
    if (this.ws.isPaused) this.ws.resume();
    if (this.runsDirty) {
      this.runsDirty = false;
      // The same catalogue for every client of the frame: built and encoded once.
      let runs = cache.get(RUNS_KEY);
      if (runs === undefined) {
        const { catalog } = this.deps;
        runs = Buffer.from(
          encode({ v: V, type: 'runs', runs: catalog.list(), summaries: catalog.summaries() }),
        );
        cache.set(RUNS_KEY, runs);
      }
      this.ws.send(runs, { binary: false });
    }
    if (this.outbox.size === 0) return false;
    const { events, gaps } = this.outbox.drain();
    for (const gap of gaps) this.send({ v: V, type: 'gap', ...gap });
    if (events.length) this.ws.send(encodeBatch(events, cache), { binary: false });
    return false;
  }

  send(message: ServerMessage): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(encode(message));
  }

  /** Called once the socket has closed: stops any replay. */
  dispose(): void {
    this.closed = true;
    if (this.active) this.active.cancelled = true;
    this.pending.clear();
    this.replaying.clear();
    this.outbox.discard();
  }

  /** Handles one client frame; anything wrong gets an `error` reply, never an exception. */
  receive(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    try {
      this.handle(data, isBinary);
    } catch (err) {
      this.send({ v: V, type: 'error', message: `cannot handle the message: ${oneLine(err)}` });
    }
    // A client that sends faster than it reads: stop reading it until it catches up.
    if (this.behind) this.deps.markDirty(this);
  }

  private handle(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (isBinary) {
      this.send({
        v: V,
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
      this.send({ v: V, type: 'error', message: msg });
    } else if (msg.type === 'subscribe') {
      this.subscribe(msg);
    } else if (msg.runId === undefined) {
      this.all = false;
      this.runs.clear();
      this.stopReplay();
      this.outbox.discard();
    } else {
      this.runs.delete(msg.runId);
      this.stopReplay(msg.runId);
      this.outbox.discard(msg.runId);
    }
  }

  private subscribe({ runId, sinceSeq }: SubscribeMessage): void {
    if (runId !== undefined && !this.deps.catalog.has(runId)) {
      this.deps.catalog.refreshSoon();
      if (!this.deps.catalog.has(runId)) {
        this.send({ v: V, type: 'error', message: `unknown runId "${runId}"` });
        return;
      }
    }
    if (runId === undefined) this.all = true;
    else this.runs.add(runId);
    if (sinceSeq === undefined) {
      // Live only from now: a replay still going for the run would send what came before.
      this.stopReplay(runId);
      return;
    }
    const targets = runId === undefined ? this.deps.catalog.list().map((m) => m.runId) : [runId];
    for (const id of targets) {
      // Whatever was queued for this run is on disk too and comes back in order.
      this.outbox.discard(id);
      if (!this.replaying.has(id)) this.replaying.set(id, 0);
      // A newer request replaces one waiting or going for the same run.
      this.pending.delete(id);
      this.pending.set(id, sinceSeq);
      if (this.active?.runId === id) this.active.cancelled = true;
    }
    void this.pump();
  }

  /** Drops replays of one run (or all), waiting or going. */
  private stopReplay(runId?: string): void {
    if (runId === undefined) {
      this.pending.clear();
      this.replaying.clear();
      if (this.active) this.active.cancelled = true;
      return;
    }
    this.pending.delete(runId);
    this.replaying.delete(runId);
    if (this.active?.runId === runId) this.active.cancelled = true;
  }

  /** Runs the waiting replays, one at a time. */
  private async pump(): Promise<void> {
    if (this.active) return;
    while (!this.closed) {
      const next = this.pending.entries().next();
      if (next.done) return;
      const [runId, sinceSeq] = next.value;
      this.pending.delete(runId);
      const job = { runId, cancelled: false };
      this.active = job;
      try {
        await this.replay(job, sinceSeq);
      } catch (err) {
        if (!job.cancelled) {
          // The reason without server paths: a code such as ENOENT, or our own message.
          const code = (err as NodeJS.ErrnoException).code;
          const why = code ? `cannot read its events.jsonl (${code})` : oneLine(err);
          this.send({ v: V, type: 'error', message: `replay of "${runId}": ${why}` });
          // Live events from here on: the client knows the replay did not finish.
          if (!this.pending.has(runId)) this.replaying.delete(runId);
        }
      } finally {
        this.active = null;
      }
    }
  }

  /**
   * Stored events after `sinceSeq`, then the live ones, with no gap and no duplicate. The
   * file is read a chunk at a time and each frame waits until the socket has room, so a
   * client that does not read holds at most about `HIGH_WATER_BYTES` plus one frame. Live
   * events of the run are not held meanwhile: each is on disk before it is published, so the
   * replay reads on until it has passed the newest live `seq`, then hands over to the live
   * stream in the same turn of the event loop.
   */
  private async replay(job: { runId: string; cancelled: boolean }, sinceSeq: number) {
    const { runId } = job;
    const file = join(this.deps.runsDir, runId, 'events.jsonl');
    const gone = () => job.cancelled || this.closed || this.ws.readyState !== WebSocket.OPEN;
    const bad: BadLine[] = [];
    let lastSeq = sinceSeq;
    let handle = await open(file, 'r');
    const fileId = (st: { ino: number; birthtimeMs: number }) => `${st.ino}-${st.birthtimeMs}`;
    let id = fileId(await handle.stat());
    let from: LogMark;
    try {
      // The frames other replays read already, then this replay reads on by itself.
      const shared = this.deps.cache
        ? await this.replayShared(job, file, id, sinceSeq, bad)
        : undefined;
      if (shared === 'gone') {
        await handle.close();
        return;
      }
      if (shared) lastSeq = Math.max(lastSeq, shared.lastSeq);
      // Start at the furthest line boundary known to come before `sinceSeq`.
      const indexed = this.deps.index?.start(file, id, sinceSeq);
      from =
        shared && shared.offset >= (indexed?.offset ?? 0)
          ? shared
          : (indexed ?? { offset: 0, line: 0, lastSeq: 0 });
    } catch (err) {
      await handle.close();
      throw err;
    }
    let position = from.offset;
    let decoder = new StringDecoder('utf8');
    let splitter = new EventLineSplitter((b) => bad.push(b), from);
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    let batch: string[] = [];
    let batchBytes = 0;
    const sendBatch = async () => {
      if (!batch.length) return;
      const frame =
        batch.length === 1
          ? `{"v":${V},"type":"event","event":${batch[0]}}`
          : `{"v":${V},"type":"events","events":[${batch.join(',')}]}`;
      batch = [];
      batchBytes = 0;
      await this.sendWhenRoom(frame);
    };
    try {
      let tries = 0;
      for (;;) {
        if (gone()) return;
        const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, position);
        if (gone()) return;
        if (bytesRead > 0) {
          const chunkStart = position;
          position += bytesRead;
          tries = 0;
          const lines = splitter.push(decoder.write(buffer.subarray(0, bytesRead)));
          // Every line before the chunk's last newline is split: a mark for later replays.
          const nl = buffer.subarray(0, bytesRead).lastIndexOf(0x0a);
          if (nl >= 0) {
            this.deps.index?.note(file, id, {
              offset: chunkStart + nl + 1,
              line: splitter.line,
              lastSeq: splitter.lastSeq,
            });
          }
          for (const { event, text } of lines) {
            if (event.seq <= lastSeq) continue;
            lastSeq = event.seq;
            batch.push(text);
            batchBytes += text.length;
            if (batch.length >= REPLAY_EVENTS || batchBytes >= REPLAY_BYTES) await sendBatch();
            if (gone()) return;
          }
          continue;
        }
        // At the end of the file: done once past every live event seen meanwhile.
        await sendBatch();
        if (gone()) return;
        const liveSeq = this.replaying.get(runId) ?? 0;
        if (lastSeq >= liveSeq) break;
        if (++tries > MAX_CATCH_UP_TRIES) {
          throw new Error(`events.jsonl stays behind the live stream at seq ${lastSeq}`);
        }
        // The file may have been replaced (a resumed run is rewritten whole): start over on it.
        const now = fileId(await stat(file));
        if (now !== id) {
          await handle.close();
          handle = await open(file, 'r');
          id = fileId(await handle.stat());
          position = 0;
          decoder = new StringDecoder('utf8');
          splitter = new EventLineSplitter((b) => bad.push(b));
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    } finally {
      // Not awaited: the hand-over below must come in the same turn as the last check.
      handle.close().catch(() => undefined);
    }
    if (gone()) return;
    // Hand over to the live stream, in this same turn: nothing can be published in between.
    if (!this.pending.has(runId)) this.replaying.delete(runId);
    if (bad.length) {
      this.send({
        v: V,
        type: 'error',
        message: describeBadLines(join(runId, 'events.jsonl'), bad),
      });
    }
    this.send({ v: V, type: 'replayed', runId, lastSeq });
  }

  /**
   * Sends the run's shared frames (`ReplayCache`) of the events after `sinceSeq`, reading the
   * log on (once for all replays) as far as the cache holds it; each frame goes as it is,
   * but the one `sinceSeq` falls in. Yields to the event loop after each frame, so a page or
   * an ingest request waits for no replay. Returns where the frames ended: every event up to
   * its `lastSeq` was sent or at most `sinceSeq` ('gone' when the client went away).
   */
  private async replayShared(
    job: { runId: string; cancelled: boolean },
    file: string,
    id: string,
    sinceSeq: number,
    bad: BadLine[],
  ): Promise<LogMark | 'gone'> {
    const log = (this.deps.cache as ReplayCache).log(file, id);
    const gone = () => job.cancelled || this.closed || this.ws.readyState !== WebSocket.OPEN;
    let sent = sinceSeq;
    for (let i = 0; ; i++) {
      while (i === log.segments.length) {
        // Read on (for all) while the log was never read to its end, or live events of the
        // run passed what was sent; else the rest is this replay's own (a few live lines).
        // A read already going (for another replay) may end before the segment wanted.
        const behind = sent < (this.replaying.get(job.runId) ?? 0);
        if (log.readToEnd && !behind) return log.end;
        if (!(await log.extend()) && i === log.segments.length) return log.end;
      }
      if (gone()) return 'gone';
      const seg = log.segments[i];
      if (seg.to.lastSeq <= sent || !seg.frame) continue;
      bad.push(...seg.bad);
      if (seg.firstSeq > sent) {
        await this.sendWhenRoom(seg.frame);
      } else {
        // The frame `sinceSeq` falls in: only its events after it.
        const { events } = JSON.parse(seg.frame.toString()) as { events: { seq: number }[] };
        const after = events.filter((e) => e.seq > sent);
        await this.sendWhenRoom(`{"v":${V},"type":"events","events":${JSON.stringify(after)}}`);
      }
      sent = seg.to.lastSeq;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Sends a frame, then waits while the socket holds more than `HIGH_WATER_BYTES`. */
  private sendWhenRoom(frame: string | Buffer): Promise<void> {
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve) => {
      let waiting = false;
      const done = () => {
        this.ws.off('close', done);
        resolve();
      };
      this.ws.send(frame, { binary: false }, () => {
        if (waiting) done();
      });
      if (this.ws.bufferedAmount <= HIGH_WATER_BYTES) resolve();
      else {
        waiting = true;
        this.ws.once('close', done);
      }
    });
  }
}

function oneLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0];
}
