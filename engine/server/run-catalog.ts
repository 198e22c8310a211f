import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent, RunMeta } from '../../streams/events.js';
import { lockHolder } from '../store/lock.js';
import { listRuns, markInterrupted, readRunMeta } from '../store/run-store.js';
import type { RunSummary } from '../../streams/protocol.js';
import { RunSummaries } from './run-summary.js';

/** Modification time of a run dir's meta.json; 0 when there is none. */
function metaTime(dir: string): number {
  try {
    return statSync(join(dir, 'meta.json')).mtimeMs;
  } catch {
    return 0;
  }
}

/** A scan of the runs dir asked for by a client runs at most this often. */
const MIN_SCAN_MS = 500;

/**
 * What the server knows of every run: stored runs from `meta.json`, kept current by the
 * live events (status, phase, last step) so a new client sees live runs as they are now. A
 * run whose writer died reads `interrupted` (see `readRunMeta`).
 */
export class RunCatalog {
  private readonly metas = new Map<string, RunMeta>();
  private readonly adoptTried = new Set<string>();
  private lastScan = 0;
  /** meta.json modification time when last read, by run dir name (0: none). */
  private readonly mtimes = new Map<string, number>();
  private readonly summarised: RunSummaries;

  constructor(private readonly runsDir: string) {
    this.summarised = new RunSummaries(runsDir);
    this.refresh();
  }

  /** Re-reads the runs dir, e.g. for runs another process writes there; true if anything changed. */
  refresh(): boolean {
    this.lastScan = Date.now();
    let changed = false;
    for (const meta of listRuns(this.runsDir)) {
      this.mtimes.set(meta.runId, metaTime(join(this.runsDir, meta.runId)));
      changed = this.merge(meta) || changed;
    }
    return changed;
  }

  /**
   * The cheap look the server takes every couple of seconds: one stat per run dir; a run is
   * read again only when its meta.json changed (a new run, one resumed or ended by another
   * process) or when it is marked running and its writer died (`interrupted`).
   */
  rescan(): boolean {
    let names: string[];
    try {
      names = readdirSync(this.runsDir);
    } catch {
      return false;
    }
    let changed = false;
    for (const name of names) {
      const known = this.metas.get(name);
      const dir = join(this.runsDir, name);
      const time = metaTime(dir);
      const same = time === this.mtimes.get(name);
      if (same && (known?.status !== 'running' || lockHolder(dir))) continue;
      this.mtimes.set(name, time);
      let meta: RunMeta;
      try {
        meta = readRunMeta(dir);
      } catch {
        continue;
      }
      if (meta.runId !== name) continue;
      if (meta.status === 'interrupted' && markInterrupted(dir)) {
        this.mtimes.set(name, metaTime(dir));
      }
      changed = this.merge(meta) || changed;
    }
    return changed;
  }

  /** Takes in what meta.json says of a run; true if the catalogue changed. */
  private merge(meta: RunMeta): boolean {
    const known = this.metas.get(meta.runId);
    const lastStep = Math.max(known?.lastStep ?? -Infinity, meta.lastStep ?? -Infinity);
    const next: RunMeta = {
      ...meta,
      ...(Number.isFinite(lastStep) ? { lastStep } : {}),
    };
    // A live run of this process is kept current by its events, not by meta.json.
    if (known?.status === 'running' && next.status === 'running') next.phase ??= known.phase;
    this.metas.set(meta.runId, next);
    return !known || JSON.stringify(known) !== JSON.stringify(next);
  }

  /** `refresh()`, unless one ran in the last half second (a client cannot make the server scan in a loop). */
  refreshSoon(): boolean {
    return Date.now() - this.lastScan >= MIN_SCAN_MS ? this.refresh() : false;
  }

  /**
   * Takes in a run's new labels (name, tags, notes), the rest of what is known of it kept (a
   * live run's status and step come from its events); true if the catalogue changed.
   */
  relabel(meta: Pick<RunMeta, 'runId' | 'name' | 'tags' | 'notes'>): boolean {
    const known = this.metas.get(meta.runId);
    if (!known) return this.refresh();
    const { name, tags, notes } = meta;
    const next: RunMeta = { ...known, name, tags, notes };
    for (const k of ['name', 'tags', 'notes'] as const) if (next[k] === undefined) delete next[k];
    this.metas.set(meta.runId, next);
    return JSON.stringify(known) !== JSON.stringify(next);
  }

  has(runId: string): boolean {
    return this.metas.has(runId);
  }

  /** Folds one live event in; true when clients should get a fresh `runs` list. */
  observe(e: RunEvent): boolean {
    this.summarised.observe(e);
    const meta = this.metas.get(e.runId);
    switch (e.type) {
      case 'run-start':
        // meta.json, written by the run store, is the authority; the event's copy fills in.
        this.metas.set(e.runId, {
          ...e.meta,
          ...this.stored(e.runId),
          status: 'running',
          lastStep: e.step,
        });
        return true;
      case 'phase':
        if (meta) Object.assign(meta, { phase: e.to, lastStep: e.step });
        return true;
      case 'run-end':
        if (meta) {
          Object.assign(meta, { status: e.status, lastStep: e.step });
          if (e.error !== undefined) meta.error = e.error;
        }
        return true;
      default:
        if (meta) meta.lastStep = e.step;
        return meta === undefined && this.adopt(e.runId);
    }
  }

  list(): RunMeta[] {
    return [...this.metas.values()].sort((a, b) => (a.runId < b.runId ? -1 : 1));
  }

  /**
   * What each run came to, in `list()`'s order (see `RunSummaries`); the status is the
   * catalogue's, which knows a run whose writer died.
   */
  summaries(): RunSummary[] {
    return this.list().map((meta) => ({
      ...this.summarised.get(meta.runId),
      status: meta.status,
    }));
  }

  private stored(runId: string): RunMeta | undefined {
    try {
      return readRunMeta(join(this.runsDir, runId));
    } catch {
      return undefined;
    }
  }

  // An event of a run we have not heard start (a resumed run, or one begun before us).
  // Scan once per unknown run, not once per event of it.
  private adopt(runId: string): boolean {
    if (this.adoptTried.has(runId)) return false;
    this.adoptTried.add(runId);
    this.refresh();
    return this.metas.has(runId);
  }
}
