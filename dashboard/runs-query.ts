import type { RunMeta } from '../streams/events.js';
import { flattenConfig, formatValue } from '../common/config-values.js';

export { flattenConfig, formatValue } from '../common/config-values.js';

export interface ConfigRow {
  key: string;
  /** One formatted value per run, in the order given. */
  values: string[];
  differs: boolean;
}

/**
 * The config of several runs side by side, key by key (union of keys, sorted): with `all`
 * false only the keys whose values differ, which is the diff a researcher reads first.
 *
 * @example
 * configDiff([{ config: { steps: 10, lr: 1 } }, { config: { steps: 20, lr: 1 } }] as RunMeta[])
 * // → [{ key: 'steps', values: ['10', '20'], differs: true }]
 */
export function configDiff(runs: ReadonlyArray<Pick<RunMeta, 'config'>>, all = false): ConfigRow[] {
  const flat = runs.map((r) => flattenConfig(r.config));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort((a, b) => a.localeCompare(b));
  const rows: ConfigRow[] = [];
  for (const key of keys) {
    const values = flat.map((f) => formatValue(f[key]));
    const differs = values.some((v) => v !== values[0]);
    if (all || differs) rows.push({ key, values, differs });
  }
  return rows;
}

/**
 * Config keys the table never shows as config columns: the run's labels (name, tags, notes,
 * id), which have columns or places of their own, and keys a built-in column already shows.
 */
const NOT_CONFIG_COLUMNS = new Set([
  'runId',
  'id',
  'name',
  'tags',
  'notes',
  'status',
  'phase',
  'created',
  'step',
  'backend',
  'error',
]);

/**
 * Every config key the runs set that may be a column, in the runs' own order: the first key of
 * each run's config (newest first), then the second of each, and so on, so a run whose config
 * differs in shape from the others (a PyTorch run among default ones) gets its keys in early.
 */
export function configKeys(runs: ReadonlyArray<Pick<RunMeta, 'config'>>): string[] {
  const own = runs.map((r) =>
    Object.keys(flattenConfig(r.config)).filter((k) => !NOT_CONFIG_COLUMNS.has(k)),
  );
  const keys = new Set<string>();
  for (let i = 0; own.some((k) => i < k.length); i++) {
    for (const k of own) if (i < k.length) keys.add(k[i]);
  }
  return [...keys];
}

/**
 * Config keys worth a column in the runs table by default: those whose value differs between
 * the runs that set them (what tells runs apart), then the keys the runs' own configs set, in
 * their own order (`configKeys`), up to `max`. Name, tags, notes and built-in fields never.
 *
 * @example
 * configColumns([{ config: { steps: 10, lr: 1 } }, { config: { steps: 20, lr: 1 } }], 2)
 * // → ['steps', 'lr']
 */
export function configColumns(runs: ReadonlyArray<Pick<RunMeta, 'config'>>, max = 6): string[] {
  const flat = runs.map((r) => flattenConfig(r.config));
  const ordered = configKeys(runs);
  const differs = (k: string) =>
    new Set(flat.filter((f) => k in f).map((f) => formatValue(f[k]))).size > 1;
  const varying = ordered.filter(differs);
  return [...varying, ...ordered.filter((k) => !differs(k))].slice(0, Math.max(0, max));
}

/** The name a run is shown by: its name, else its id. */
export function runTitle(run: Pick<RunMeta, 'runId' | 'name'>): string {
  return run.name?.trim() || run.runId;
}

/** Built-in columns of the runs table; any other key is a (flattened) config key. */
export const RUN_FIELDS = [
  'name',
  'status',
  'phase',
  'tags',
  'created',
  'step',
  'backend',
] as const;

/** The value of a column for a run: a built-in field or a config key. */
export function runField(run: RunMeta, key: string): unknown {
  switch (key) {
    case 'name':
      return runTitle(run);
    case 'id':
      return run.runId;
    case 'status':
      return run.status;
    case 'phase':
      return run.phase;
    case 'tag':
    case 'tags':
      return run.tags ?? [];
    case 'created':
      return run.createdAt;
    case 'step':
      return run.lastStep;
    case 'backend':
      return run.backend;
    case 'notes':
      return run.notes;
    case 'error':
      return run.error;
    default:
      return flattenConfig(run.config)[key];
  }
}

function haystack(run: RunMeta): string {
  const config = Object.entries(flattenConfig(run.config)).map(
    ([k, v]) => `${k}=${formatValue(v)}`,
  );
  return [
    run.runId,
    run.name,
    run.status,
    run.phase,
    run.backend,
    run.notes,
    run.error,
    ...(run.tags ?? []),
    ...config,
  ]
    .filter((s) => s !== undefined)
    .join('\n')
    .toLowerCase();
}

function termMatches(run: RunMeta, term: string): boolean {
  const at = term.indexOf(':');
  if (at > 0) {
    const [field, want] = [term.slice(0, at), term.slice(at + 1)];
    const v = runField(run, field);
    if (Array.isArray(v) && (field === 'tag' || field === 'tags')) {
      return v.some((t) => String(t).toLowerCase().includes(want));
    }
    if (v !== undefined || RUN_FIELDS.includes(field as (typeof RUN_FIELDS)[number])) {
      return formatValue(v).toLowerCase().includes(want);
    }
  }
  return haystack(run).includes(term);
}

/**
 * The runs matching every whitespace-separated term of `query` (case ignored): a plain term
 * is searched in the id, name, status, tags, notes, backend, error and `key=value` config
 * pairs; `field:value` looks in one field (`status:failed`, `tag:sweep`, `steps:400`); a
 * leading `-` negates a term.
 *
 * @example
 * filterRuns(runs, 'tag:baseline -status:failed')
 */
export function filterRuns(runs: readonly RunMeta[], query: string): RunMeta[] {
  const terms = query
    .toLowerCase()
    .split(/\s+/)
    .filter((t) => t && t !== '-');
  return runs.filter((run) =>
    terms.every((t) => (t.startsWith('-') ? !termMatches(run, t.slice(1)) : termMatches(run, t))),
  );
}

function compareValues(a: unknown, b: unknown): number {
  if (a === undefined || a === null) return b === undefined || b === null ? 0 : 1;
  if (b === undefined || b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return formatValue(a).localeCompare(formatValue(b), undefined, { numeric: true });
}

/**
 * Runs sorted by a column (a built-in field or a config key), `dir` 1 ascending, -1
 * descending; runs missing the value go last either way; ties keep their order.
 */
export function sortRuns(runs: readonly RunMeta[], key: string, dir: 1 | -1): RunMeta[] {
  return runs
    .map((run, i) => ({ run, i, v: runField(run, key) }))
    .sort((a, b) => {
      const missA = a.v === undefined || a.v === null;
      const missB = b.v === undefined || b.v === null;
      if (missA || missB) return missA === missB ? a.i - b.i : missA ? 1 : -1;
      return dir * compareValues(a.v, b.v) || a.i - b.i;
    })
    .map((x) => x.run);
}
