import type { RunMeta } from '../streams/events.js';
import { DERIVED_CONFIG_KEYS, flattenConfig, formatValue } from './config-values.js';

/**
 * Which stored runs form a sweep and which config keys it swept: what the dashboard's sweep
 * view and `phasewatch report` both read (browser-safe: no DOM, no Node).
 */

/** Config keys that name or identify a run rather than set it: never offered as swept. */
const NOT_SWEPT = new Set(['runId', 'name', 'notes', 'tags']);

/** Keys that repeat a point rather than move it: offered, but not chosen by default. */
const REPLICATE = /(^|\.)seed$/i;

/**
 * The sweep a run belongs to: its `sweep:<id>` tag (what a `sweep()` job records), else, for a
 * run tagged `sweep` whose name is its point's key (`dx=0.5,seed=2`, what older sweeps
 * recorded), the sweep name its id was built from (`<name>-dx0.5_seed2`).
 *
 * @example
 * sweepIdOf({ runId: 'density-dx0.5_seed2', tags: ['sweep:density', 'sweep'] }) // → 'density'
 * sweepIdOf({ runId: 'density-dx0.5_seed2', name: 'dx=0.5,seed=2', tags: ['sweep'] }) // → 'density'
 */
export function sweepIdOf(meta: Pick<RunMeta, 'runId' | 'name' | 'tags'>): string | undefined {
  const tags = meta.tags ?? [];
  const tagged = tags.find((t) => t.startsWith('sweep:') && t.length > 6);
  if (tagged) return tagged.slice(6);
  if (!tags.includes('sweep') || !meta.name) return undefined;
  const pairs = meta.name.split(',').map((p) => p.split('='));
  if (!pairs.every((p) => p.length === 2 && p[0])) return undefined;
  // The slug sweepRunId (streams/sweep.ts) builds from the point.
  const slug = pairs.map(([k, v]) => `${k}${v}`.replace(/[^\w.-]+/g, '-')).join('_');
  const m = new RegExp(`^(.+)-${slug.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(-r\\d+)?$`).exec(
    meta.runId,
  );
  return m?.[1];
}

export interface SweepInfo {
  id: string;
  runIds: string[];
  running: number;
}

/** sweepIdOf per catalogue entry (the catalogue replaces its entries when they change). */
const idCache = new WeakMap<RunMeta, string | null>();

/** The sweeps among the runs, newest first, each with its runs in creation order. */
export function sweepsOf(runs: readonly RunMeta[]): SweepInfo[] {
  const byId = new Map<string, RunMeta[]>();
  for (const r of runs) {
    let cached = idCache.get(r);
    if (cached === undefined) idCache.set(r, (cached = sweepIdOf(r) ?? null));
    const id = cached ?? undefined;
    if (id !== undefined) byId.set(id, [...(byId.get(id) ?? []), r]);
  }
  return [...byId.entries()]
    .map(([id, list]) => {
      const sorted = [...list].sort(
        (a, b) => a.createdAt.localeCompare(b.createdAt) || a.runId.localeCompare(b.runId),
      );
      return {
        id,
        runIds: sorted.map((r) => r.runId),
        running: sorted.filter((r) => r.status === 'running').length,
        newest: sorted.at(-1)?.createdAt ?? '',
      };
    })
    .sort((a, b) => b.newest.localeCompare(a.newest) || a.id.localeCompare(b.id))
    .map(({ id, runIds, running }) => ({ id, runIds, running }));
}

/** The keys of a name that is a sweep point's key (`dx=0.5,seed=2` → dx, seed), else []. */
function pointKeysOf(name: string | undefined): string[] {
  const pairs = (name ?? '').split(',').map((p) => p.split('='));
  return pairs.every((p) => p.length === 2 && p[0]) ? pairs.map((p) => p[0]) : [];
}

/**
 * The config keys (flattened, dotted) whose values differ between the runs: the parameters
 * the sweep swept. The keys of the sweep's points come first, as a sweep names its runs
 * (`dx=0.5,seed=2`), then the other settings that differ, then values derived from them
 * (a dataset's size), replicate keys (`seed`) last. Identity keys (`runId`, `name`) are never
 * listed.
 *
 * @example
 * sweptKeys([{ config: { dx: 1, seed: 1, lr: 1 } }, { config: { dx: 2, seed: 2, lr: 1 } }]) // → ['dx', 'seed']
 */
export function sweptKeys(
  metas: ReadonlyArray<Pick<RunMeta, 'config'> & { name?: string }>,
): string[] {
  const flat = metas.map((m) => flattenConfig(m.config));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))]
    .filter((k) => !NOT_SWEPT.has(k))
    .sort((a, b) => a.localeCompare(b));
  const differing = keys.filter((k) => {
    const shown = flat.map((f) => formatValue(f[k]));
    return shown.some((v) => v !== shown[0]);
  });
  const named = metas.map((m) => pointKeysOf(m.name));
  const swept = (named[0] ?? []).filter(
    (k) => differing.includes(k) && named.every((n) => n.includes(k)),
  );
  // settings before the values derived from them (dx before the dataset's size)
  const derived = (k: string) => DERIVED_CONFIG_KEYS.includes(k);
  const others = differing.filter((k) => !swept.includes(k));
  const rest = [...others.filter((k) => !derived(k)), ...others.filter(derived)];
  return [
    ...swept.filter((k) => !REPLICATE.test(k)),
    ...rest.filter((k) => !REPLICATE.test(k)),
    ...swept.filter((k) => REPLICATE.test(k)),
    ...rest.filter((k) => REPLICATE.test(k)),
  ];
}
