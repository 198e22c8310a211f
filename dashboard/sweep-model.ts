import type { Phase, RunMeta } from '../streams/events.js';
import { flattenConfig, formatValue } from '../common/config-values.js';
import type { RunSummary } from '../streams/protocol.js';
import type { MetricSeries } from './run-state.js';

export { sweepIdOf, sweepsOf, sweptKeys, type SweepInfo } from '../common/sweep-keys.js';

/**
 * What the sweep view computes, with no DOM: which runs form a sweep, which config keys were
 * swept, and per run the value plotted against the swept key — the step at which a phase was
 * first confirmed (runs that have not got there yet are marked, at the step they are at), or a
 * metric's last, lowest or highest value. `phasewatch report` draws its steps-to-phase figure
 * from the same functions (so nothing here touches the DOM or the theme).
 */

export const PHASES: readonly Phase[] = ['A', 'B', 'C'];

/** The part of a run's series the sweep view reads (a `RunSeries` has it). */
export interface SweepSeries {
  runId: string;
  name?: string;
  lastStep: number;
  phases: ReadonlyArray<{ to: Phase; step: number }>;
  metrics: ReadonlyMap<string, MetricSeries>;
  /** Set once the run ended. */
  end?: unknown;
  /** The last event's `seq` held (a `RunSeries` has it). */
  lastSeq?: number;
}

export interface SweepRun {
  meta?: RunMeta;
  series: SweepSeries;
  /**
   * The server's summary of the run: what the point is drawn from when it is newer than the
   * series (a run of the sweep not opened, so not replayed, holds no events at all).
   */
  summary?: RunSummary;
}

/** The run's summary when it knows more than its series, else undefined (draw the series). */
function newerSummary(run: SweepRun): RunSummary | undefined {
  const held = run.series.lastSeq ?? (run.series.lastStep > 0 ? Infinity : 0);
  return run.summary && run.summary.lastSeq > held ? run.summary : undefined;
}

/** The y value: steps to a phase, or a statistic of a metric. */
export type SweepY =
  { kind: 'phase'; phase: Phase } | { kind: 'metric'; name: string; stat: MetricStat };

export type MetricStat = 'last' | 'min' | 'max';
export const METRIC_STATS: readonly MetricStat[] = ['last', 'min', 'max'];

/**
 * How a run's point reads: `reached` (the phase was confirmed at y; or a metric's value),
 * `pending` (still running, not there yet: y is the step it is at, a lower bound), `ended`
 * (ended without getting there: y is its last step), `skipped` (a later phase was confirmed
 * first, at y, without this one ever being).
 */
export type PointStatus = 'reached' | 'pending' | 'ended' | 'skipped';

/** One run's point. */
export interface SweepPlotPoint {
  runId: string;
  title: string;
  /** The swept key's value, as recorded (undefined when the run lacks the key). */
  value: unknown;
  /** Its position along the x axis (the value, or its index for categorical keys). */
  x: number;
  y: number;
  status: PointStatus;
}

/** The runs at one value of the swept key. */
export interface SweepGroup {
  value: unknown;
  label: string;
  x: number;
  runs: number;
  /** Runs whose y counts (a reached phase, or a metric value). */
  reached: number;
  /** Median, lowest and highest y over the runs that count; NaN when none do. */
  median: number;
  min: number;
  max: number;
}

export interface SweepPlot {
  key: string;
  /** `numeric` when every value is a finite number; otherwise the values are categories. */
  axis: 'numeric' | 'categorical';
  groups: SweepGroup[];
  points: SweepPlotPoint[];
  /** Runs with no y at all (a metric they never logged). */
  missing: string[];
}

/** The step at which each phase was first confirmed. */
export function phaseSteps(series: Pick<SweepSeries, 'phases'>): Partial<Record<Phase, number>> {
  const at: Partial<Record<Phase, number>> = {};
  for (const p of series.phases) {
    const seen = at[p.to];
    if (seen === undefined || p.step < seen) at[p.to] = p.step;
  }
  return at;
}

function metricStat(m: MetricSeries | undefined, stat: MetricStat): number | undefined {
  const values = m?.values.filter((v) => Number.isFinite(v)) ?? [];
  if (!values.length) return undefined;
  if (stat === 'last') return values[values.length - 1];
  return stat === 'min' ? Math.min(...values) : Math.max(...values);
}

/** A run's y and how to read it; undefined when it has none (a metric it never logged). */
export function runY(run: SweepRun, y: SweepY): { y: number; status: PointStatus } | undefined {
  const s = run.series;
  const summary = newerSummary(run);
  if (y.kind === 'metric') {
    const v = summary
      ? summary.metrics[y.name]?.[y.stat]
      : metricStat(s.metrics.get(y.name), y.stat);
    return v === undefined ? undefined : { y: v, status: 'reached' };
  }
  const at = summary ? summary.phases : phaseSteps(s);
  const reached = at[y.phase];
  if (reached !== undefined) return { y: reached, status: 'reached' };
  const later = PHASES.slice(PHASES.indexOf(y.phase) + 1)
    .map((p) => at[p])
    .filter((v): v is number => v !== undefined);
  if (later.length) return { y: Math.min(...later), status: 'skipped' };
  const ended =
    s.end !== undefined ||
    (summary !== undefined && summary.status !== 'running') ||
    (run.meta !== undefined && run.meta.status !== 'running');
  return {
    y: Math.max(0, s.lastStep, summary?.lastStep ?? 0, run.meta?.lastStep ?? 0),
    status: ended ? 'ended' : 'pending',
  };
}

/** Median of a non-empty list; NaN for an empty one. */
export function median(values: readonly number[]): number {
  if (!values.length) return NaN;
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function compareValues(a: unknown, b: unknown): number {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return formatValue(a).localeCompare(formatValue(b), undefined, { numeric: true });
}

/**
 * The plot of y against the swept key `key`: one point per run (runs at the same value spread
 * a little sideways so none hides another) and per value of the key the runs' median, lowest
 * and highest y over the runs whose y counts (a reached phase, any metric value).
 */
export function sweepPlot(runs: readonly SweepRun[], key: string, y: SweepY): SweepPlot {
  const valueOf = (r: SweepRun) => flattenConfig(r.meta?.config)[key];
  const distinct: unknown[] = [];
  for (const r of runs) {
    const v = valueOf(r);
    if (!distinct.some((d) => formatValue(d) === formatValue(v))) distinct.push(v);
  }
  distinct.sort(compareValues);
  const axis = distinct.every((v) => typeof v === 'number' && Number.isFinite(v))
    ? 'numeric'
    : 'categorical';
  const position = (v: unknown, i: number) => (axis === 'numeric' ? (v as number) : i);
  const points: SweepPlotPoint[] = [];
  const missing: string[] = [];
  const groups: SweepGroup[] = distinct.map((value, i) => {
    const mine = runs
      .filter((r) => formatValue(valueOf(r)) === formatValue(value))
      .sort((a, b) => a.series.runId.localeCompare(b.series.runId, undefined, { numeric: true }));
    const counted: number[] = [];
    for (const r of mine) {
      const got = runY(r, y);
      if (!got) {
        missing.push(r.series.runId);
        continue;
      }
      if (got.status === 'reached') counted.push(got.y);
      points.push({
        runId: r.series.runId,
        title: r.series.name?.trim() || r.meta?.name?.trim() || r.series.runId,
        value,
        x: position(value, i),
        y: got.y,
        status: got.status,
      });
    }
    return {
      value,
      label: formatValue(value),
      x: position(value, i),
      runs: mine.length,
      reached: counted.length,
      median: median(counted),
      min: counted.length ? Math.min(...counted) : NaN,
      max: counted.length ? Math.max(...counted) : NaN,
    };
  });
  return { key, axis, groups, points, missing };
}

/** A log x axis suits a numeric key whose values are all positive and span a factor of 4. */
export function suitsLogAxis(plot: Pick<SweepPlot, 'axis' | 'groups'>): boolean {
  if (plot.axis !== 'numeric' || plot.groups.length < 3) return false;
  const xs = plot.groups.map((g) => g.x);
  return xs.every((x) => x > 0) && Math.max(...xs) / Math.min(...xs) >= 4;
}

/**
 * Sideways offsets that keep runs at the same x apart: in axis units (log units on a log
 * axis), at most a third of the narrowest gap between neighbouring values, centred on the
 * value. Returns the x to draw each point at, in the order of `points`.
 */
export function spreadX(points: readonly SweepPlotPoint[], log: boolean): number[] {
  const t = (x: number) => (log ? Math.log(x) : x);
  const inv = (u: number) => (log ? Math.exp(u) : u);
  const xs = [...new Set(points.map((p) => p.x))].sort((a, b) => a - b);
  let gap = Infinity;
  for (let i = 1; i < xs.length; i++) gap = Math.min(gap, t(xs[i]) - t(xs[i - 1]));
  if (!Number.isFinite(gap)) gap = log ? 0.5 : Math.abs(xs[0] ?? 1) || 1;
  const byX = new Map<number, number[]>();
  points.forEach((p, i) => byX.set(p.x, [...(byX.get(p.x) ?? []), i]));
  const out = points.map((p) => p.x);
  for (const [x, idx] of byX) {
    if (idx.length < 2) continue;
    const width = gap / 3;
    const step = width / (idx.length - 1);
    idx.forEach((at, k) => (out[at] = inv(t(x) - width / 2 + k * step)));
  }
  return out;
}

/** What the y axis is called. */
export function yTitle(y: SweepY): string {
  return y.kind === 'phase' ? `step ${y.phase} was first confirmed` : `${y.name} (${y.stat})`;
}
