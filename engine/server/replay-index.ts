/** A line boundary of `events.jsonl`: byte offset, lines before it, highest `seq` before it. */
export interface LogMark {
  offset: number;
  line: number;
  lastSeq: number;
}

const START: LogMark = { offset: 0, line: 0, lastSeq: 0 };

/**
 * Where a replay can start reading a run's `events.jsonl`, shared by every client: a mark at
 * a line boundary about every `every` bytes, noted as replays read the file. A reconnecting
 * dashboard asks for the events after the last one it has, and the replay starts near it
 * instead of reading (and parsing) the whole log again. `id` names one version of the file
 * (inode and birth time): a file replaced whole (a resumed run is rewritten) starts afresh.
 */
export class ReplayIndex {
  private readonly files = new Map<string, { id: string; marks: LogMark[] }>();

  constructor(
    private readonly every = 1 << 20,
    private readonly maxFiles = 1000,
  ) {}

  /** The furthest mark before which every event has `seq <= sinceSeq`. */
  start(file: string, id: string, sinceSeq: number): LogMark {
    const entry = this.files.get(file);
    if (!entry || entry.id !== id) return START;
    const { marks } = entry;
    let lo = 0;
    let hi = marks.length - 1;
    let best = START;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (marks[mid].lastSeq <= sinceSeq) {
        best = marks[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }

  /** Notes a line boundary met while reading; kept if it is far enough past the last one. */
  note(file: string, id: string, mark: LogMark): void {
    let entry = this.files.get(file);
    if (!entry || entry.id !== id) {
      if (!entry && this.files.size >= this.maxFiles) {
        this.files.delete(this.files.keys().next().value as string);
      }
      entry = { id, marks: [] };
      this.files.set(file, entry);
    }
    const last = entry.marks[entry.marks.length - 1] ?? START;
    if (mark.offset >= last.offset + this.every && mark.lastSeq >= last.lastSeq) {
      entry.marks.push({ ...mark });
    }
  }
}
