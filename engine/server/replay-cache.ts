import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { EventLineSplitter, type BadLine } from '../../streams/replay.js';
import { PROTOCOL_VERSION } from '../../streams/protocol.js';
import type { LogMark } from './replay-index.js';

/** One replay frame of a log: the events of a byte range, encoded once, sent to every client. */
export interface LogSegment {
  /** Where the range starts (a line boundary) and ends (after its last complete line). */
  from: LogMark;
  to: LogMark;
  /** `seq` of its first event (Infinity when it has none). */
  firstSeq: number;
  /** `{"v":2,"type":"events","events":[…]}`, or null when the range holds no event. */
  frame: Buffer | null;
  /** Unreadable lines of the range. */
  bad: BadLine[];
}

/** A segment is sealed once it holds this many bytes of events (or the file ends). */
const SEGMENT_BYTES = 256 * 1024;
/** Bytes read from the file at a time. */
const READ_BYTES = 64 * 1024;

/** One version of one run's `events.jsonl`, read once, as segments. */
export class SharedLog {
  readonly segments: LogSegment[] = [];
  /** Bytes of the frames held. */
  bytes = 0;
  lastUsed = Date.now();
  /** No more segments are added (over the cache's budget): replays read on by themselves. */
  full = false;
  /** The file was read to its end once (it may have grown since). */
  readToEnd = false;
  private position = 0;
  private decoder = new StringDecoder('utf8');
  private bad: BadLine[] = [];
  private readonly splitter = new EventLineSplitter((b) => this.bad.push(b));
  private lines: string[] = [];
  private linesBytes = 0;
  private firstSeq = Infinity;
  private sealedTo: LogMark = { offset: 0, line: 0, lastSeq: 0 };
  private lastLine: LogMark = { offset: 0, line: 0, lastSeq: 0 };
  private reading: Promise<boolean> | null = null;

  constructor(
    readonly file: string,
    readonly id: string,
    private readonly room: (log: SharedLog, bytes: number) => boolean,
  ) {}

  /** Where the sealed segments end: a replay reads on from here by itself. */
  get end(): LogMark {
    return this.sealedTo;
  }

  /**
   * Reads on until one more segment is sealed or the file ends; one read at a time, shared by
   * every replay that waits for it. True when a segment was added.
   */
  extend(): Promise<boolean> {
    this.reading ??= this.readSegment().finally(() => (this.reading = null));
    return this.reading;
  }

  private async readSegment(): Promise<boolean> {
    if (this.full) return false;
    const handle = await open(this.file, 'r');
    try {
      const st = await handle.stat();
      if (`${st.ino}-${st.birthtimeMs}` !== this.id) return false;
      const buffer = Buffer.allocUnsafe(READ_BYTES);
      const before = this.segments.length;
      while (this.segments.length === before) {
        const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, this.position);
        if (bytesRead === 0) {
          // The end of the file, for now: what was read is a segment (a live log grows on).
          this.readToEnd = true;
          this.seal();
          break;
        }
        const chunk = buffer.subarray(0, bytesRead);
        const start = this.position;
        this.position += bytesRead;
        for (const { event, text } of this.splitter.push(this.decoder.write(chunk))) {
          if (this.firstSeq === Infinity) this.firstSeq = event.seq;
          this.lines.push(text);
          this.linesBytes += text.length;
        }
        const nl = chunk.lastIndexOf(0x0a);
        if (nl >= 0) {
          this.lastLine = {
            offset: start + nl + 1,
            line: this.splitter.line,
            lastSeq: this.splitter.lastSeq,
          };
        }
        if (this.linesBytes >= SEGMENT_BYTES) this.seal();
      }
      return this.segments.length > before;
    } finally {
      await handle.close();
    }
  }

  /** Makes what was read up to the last complete line a segment (if the budget allows). */
  private seal(): void {
    if (this.lastLine.offset === this.sealedTo.offset) return;
    const frame = this.lines.length
      ? Buffer.from(`{"v":${PROTOCOL_VERSION},"type":"events","events":[${this.lines.join(',')}]}`)
      : null;
    if (!this.room(this, frame?.length ?? 0)) {
      this.full = true;
      return;
    }
    this.segments.push({
      from: this.sealedTo,
      to: this.lastLine,
      firstSeq: this.firstSeq,
      frame,
      bad: this.bad,
    });
    this.bytes += frame?.length ?? 0;
    this.sealedTo = this.lastLine;
    this.lines = [];
    this.linesBytes = 0;
    this.firstSeq = Infinity;
    this.bad = [];
  }
}

/**
 * Run logs as replay frames, shared by every client: N dashboards replaying the same run read
 * and parse its `events.jsonl` once, and send the same buffers. At most `maxBytes` of frames
 * are held, the logs used least recently given up first; a log bigger than that is cached up
 * to the budget and read on by each replay (`ClientSession`), as every log is when the cache
 * is off (`maxBytes` 0).
 */
export class ReplayCache {
  private readonly logs = new Map<string, SharedLog>();
  private total = 0;

  constructor(readonly maxBytes = 64 << 20) {}

  /** The shared log of `file` as it is now (`id`: inode and birth time); a new file starts afresh. */
  log(file: string, id: string): SharedLog {
    let log = this.logs.get(file);
    if (!log || log.id !== id) {
      if (log) this.drop(log);
      log = new SharedLog(file, id, (l, bytes) => this.room(l, bytes));
      this.logs.set(file, log);
    }
    log.lastUsed = Date.now();
    return log;
  }

  /** Bytes of frames held, all logs together. */
  get bytes(): number {
    return this.total;
  }

  /** Makes room for `bytes` more of `log`, giving up the least recently used other logs. */
  private room(log: SharedLog, bytes: number): boolean {
    if (this.logs.get(log.file) !== log || log.bytes + bytes > this.maxBytes) return false;
    const others = [...this.logs.values()]
      .filter((l) => l !== log)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    while (this.total + bytes > this.maxBytes && others.length) this.drop(others.shift()!);
    this.total += bytes;
    return true;
  }

  private drop(log: SharedLog): void {
    this.total -= log.bytes;
    if (this.logs.get(log.file) === log) this.logs.delete(log.file);
  }
}
