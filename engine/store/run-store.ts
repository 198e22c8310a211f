import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { Subject, type Observable } from 'rxjs';
import { EVENTS_VERSION } from '../../streams/events.js';
import type { RunEndEvent, RunEvent, RunMeta, UnsequencedEvent } from '../../streams/events.js';
import { readRunEvents } from '../../streams/replay.js';

/** Big arrays of one snapshot, stored as `snapshots/<step>.bin`. */
export interface SnapshotArrays {
  labels: Float32Array;
  images: Float32Array;
  activations: Float32Array;
}

/** Writes a file whole or not at all: readers never see a half-written file. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** A fresh run id: sortable by time, unique within a runs dir. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * The append-only store of one run: `meta.json`, `events.jsonl`, `snapshots/`,
 * `checkpoints/`. Every event is written to the file before it is passed on to
 * `events$`, so whoever sees an event can also read it back from disk.
 */
export class RunStore {
  private readonly subject = new Subject<RunEvent>();
  /** Every event, after it is on disk. */
  readonly events$: Observable<RunEvent> = this.subject.asObservable();
  private fd: number | null;

  private constructor(
    readonly dir: string,
    private meta: RunMeta,
    private seq: number,
    private readonly hub?: Subject<RunEvent>,
  ) {
    this.fd = openSync(join(dir, 'events.jsonl'), 'a');
  }

  /** Creates `runsDir/<runId>/` and its meta.json. */
  static create(opts: {
    runsDir: string;
    runId?: string;
    name?: string;
    tags?: string[];
    notes?: string;
    backend: string;
    config: Record<string, unknown>;
    hub?: Subject<RunEvent>;
  }): RunStore {
    const runId = opts.runId ?? newRunId();
    if (!/^[\w.-]+$/.test(runId)) {
      throw new Error(`runId must contain only letters, digits, '.', '_' or '-' (got "${runId}")`);
    }
    const dir = join(opts.runsDir, runId);
    if (existsSync(join(dir, 'events.jsonl'))) {
      throw new Error(`runId "${runId}" already exists in ${opts.runsDir}`);
    }
    mkdirSync(join(dir, 'snapshots'), { recursive: true });
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    const meta: RunMeta = {
      runId,
      eventsVersion: EVENTS_VERSION,
      ...(opts.name === undefined ? {} : { name: opts.name }),
      ...(opts.tags === undefined ? {} : { tags: opts.tags }),
      ...(opts.notes === undefined ? {} : { notes: opts.notes }),
      createdAt: new Date().toISOString(),
      backend: opts.backend,
      config: opts.config,
      status: 'running',
    };
    writeFileAtomic(join(dir, 'meta.json'), JSON.stringify(meta, null, 2));
    return new RunStore(dir, meta, 0, opts.hub);
  }

  /** Reopens a stored run to append to it (a resumed run); drops a half-written last line. */
  static open(dir: string, hub?: Subject<RunEvent>): RunStore {
    const meta = readRunMeta(dir);
    const file = join(dir, 'events.jsonl');
    const text = readFileSync(file, 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) {
      const fd = openSync(file, 'r+');
      ftruncateSync(fd, Buffer.byteLength(text.slice(0, end)));
      closeSync(fd);
    }
    const events = readRunEvents(dir);
    const seq = events.length ? events[events.length - 1].seq : 0;
    return new RunStore(dir, { ...meta, status: 'running' }, seq, hub);
  }

  get runId(): string {
    return this.meta.runId;
  }

  /** A copy of what meta.json holds now. */
  get info(): RunMeta {
    return { ...this.meta };
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Stamps the event with the next `seq`, appends it to events.jsonl, then publishes it. */
  append(event: UnsequencedEvent): RunEvent {
    if (this.fd === null) throw new Error(`run ${this.runId} is closed`);
    const line = JSON.stringify({ ...event, runId: this.runId, seq: ++this.seq });
    writeSync(this.fd, line + '\n');
    // What subscribers get is what a reader of the file gets (no undefined fields, no -0, no NaN).
    const stamped = JSON.parse(line) as RunEvent;
    if (stamped.type !== 'step') fsyncSync(this.fd);
    if (stamped.type === 'phase') this.updateMeta({ phase: stamped.to });
    this.subject.next(stamped);
    this.hub?.next(stamped);
    return stamped;
  }

  /** Writes the big arrays of a snapshot; returns the path relative to the run dir. */
  writeSnapshot(step: number, arrays: SnapshotArrays): string {
    const rel = join('snapshots', `${step}.bin`);
    writeFileAtomic(join(this.dir, rel), encodeArrays(arrays));
    return rel;
  }

  /** Merges `patch` into meta.json (written atomically). */
  updateMeta(patch: Partial<RunMeta>): void {
    this.meta = { ...this.meta, ...patch };
    writeFileAtomic(join(this.dir, 'meta.json'), JSON.stringify(this.meta, null, 2));
  }

  /** Appends the run-end event, records the status and closes the file. */
  /** Appends the run-end event (returned) unless the run is already closed. */
  close(status: RunEndEvent['status'], step: number, error?: string): RunEvent | undefined {
    if (this.fd === null) return undefined;
    const end = this.append({ type: 'run-end', runId: this.runId, step, time: Date.now(), status, error });
    this.updateMeta({ status, lastStep: step, ...(error === undefined ? {} : { error }) });
    closeSync(this.fd);
    this.fd = null;
    this.subject.complete();
    return end;
  }
}

/** Reads `meta.json` of a run dir, with a one-line error when it is missing or corrupt. */
export function readRunMeta(dir: string): RunMeta {
  try {
    return JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as RunMeta;
  } catch {
    throw new Error(`runDir "${dir}" is not a readable phasewatch run (no valid meta.json)`);
  }
}

/** The runs stored under `runsDir`, oldest first; dirs that are not runs are skipped. */
export function listRuns(runsDir: string): RunMeta[] {
  if (!existsSync(runsDir)) return [];
  return readdirSync(runsDir)
    .filter((name) => existsSync(join(runsDir, name, 'meta.json')))
    .sort()
    .flatMap((name) => {
      try {
        return [readRunMeta(join(runsDir, name))];
      } catch {
        return [];
      }
    });
}

// Snapshot file: 4-byte little-endian header length, JSON header, then float32 arrays.
function encodeArrays(arrays: SnapshotArrays): Uint8Array {
  const names = ['labels', 'images', 'activations'] as const;
  const header = JSON.stringify(Object.fromEntries(names.map((n) => [n, arrays[n].length])));
  const head = Buffer.from(header);
  const pad = (4 - ((4 + head.length) % 4)) % 4;
  const bytes = Buffer.alloc(
    4 + head.length + pad + names.reduce((s, n) => s + arrays[n].byteLength, 0),
  );
  bytes.writeUInt32LE(head.length + pad, 0);
  head.copy(bytes, 4);
  bytes.fill(0x20, 4 + head.length, 4 + head.length + pad);
  let offset = 4 + head.length + pad;
  for (const n of names) {
    Buffer.from(arrays[n].buffer, arrays[n].byteOffset, arrays[n].byteLength).copy(bytes, offset);
    offset += arrays[n].byteLength;
  }
  return bytes;
}

/** Reads a `snapshots/<step>.bin` file back. */
export function readSnapshotArrays(file: string): SnapshotArrays {
  const bytes = readFileSync(file);
  const headLen = bytes.readUInt32LE(0);
  const lengths = JSON.parse(bytes.subarray(4, 4 + headLen).toString()) as Record<string, number>;
  let offset = 4 + headLen;
  const take = (n: number): Float32Array => {
    const out = new Float32Array(n);
    Buffer.from(out.buffer).set(bytes.subarray(offset, offset + n * 4));
    offset += n * 4;
    return out;
  };
  return {
    labels: take(lengths.labels),
    images: take(lengths.images),
    activations: take(lengths.activations),
  };
}
