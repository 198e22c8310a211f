/**
 * Helpers the seed-004 examples share: which sweep backend a script uses, and what a sweep's
 * merged events say per run (config, first confirmed step of each phase, metric series).
 */
import { tap } from 'rxjs';
import type { MonoTypeOperatorFunction } from 'rxjs';
import {
  childProcesses,
  coresPerRun,
  inProcess,
  type MakeRun,
  type Phase,
  type ScriptContext,
  type SweepBackend,
  type SweepEvent,
  type SweepPoint,
} from 'phasewatch';

/** A script counts as tiny (a spec, a smoke run) under this many steps: it then runs in-process. */
export const TINY_STEPS = 200;

/**
 * The backend a script's sweep uses: one child process per run, one addon thread each, as many
 * at a time as there are cores (`PHASEWATCH_SWEEP=inprocess` or a tiny run: in this process).
 */
export function sweepBackend<P extends SweepPoint>(
  ctx: ScriptContext,
  module: URL,
  exportName: string,
  local: MakeRun<P>,
): { backend: SweepBackend<P>; concurrency: number } {
  const mode =
    process.env.PHASEWATCH_SWEEP ?? (ctx.config.steps < TINY_STEPS ? 'inprocess' : 'processes');
  if (mode !== 'inprocess' && mode !== 'processes') {
    throw new Error(
      `PHASEWATCH_SWEEP must be one of inprocess, processes (got ${JSON.stringify(mode)})`,
    );
  }
  if (mode === 'inprocess') return { backend: inProcess(local), concurrency: 1 };
  const concurrency = Number(process.env.PHASEWATCH_SWEEP_CONCURRENCY ?? coresPerRun(1));
  return { backend: childProcesses<P>({ module, export: exportName, threads: 1 }), concurrency };
}

/** What one run of a sweep showed. */
export interface RunSummary {
  runId: string;
  config: Record<string, unknown>;
  status?: string;
  /** Step at which each phase was first confirmed. */
  phaseAt: Partial<Record<Phase, number>>;
  /** Metric name → [step, value] in step order. */
  series: Map<string, [number, number][]>;
  /** Wall-clock milliseconds from run-start to run-end. */
  ms?: number;
}

/** Groups a sweep's merged events by run. */
export function summariseRuns(events: SweepEvent[]): Map<string, RunSummary> {
  const runs = new Map<string, RunSummary>();
  const of = (runId: string): RunSummary => {
    let r = runs.get(runId);
    if (!r) {
      r = { runId, config: {}, phaseAt: {}, series: new Map() };
      runs.set(runId, r);
    }
    return r;
  };
  const started = new Map<string, number>();
  for (const e of events) {
    const r = of(e.runId);
    if (e.type === 'run-start') {
      r.config = e.meta.config;
      if (!started.has(e.runId)) started.set(e.runId, e.time);
    } else if (e.type === 'run-end') {
      r.status = e.status;
      const t0 = started.get(e.runId);
      if (t0 !== undefined) r.ms = e.time - t0;
    } else if (e.type === 'phase') {
      r.phaseAt[e.to] ??= e.step;
    } else if (e.type === 'metric') {
      const s = r.series.get(e.name) ?? [];
      s.push([e.step, e.value]);
      r.series.set(e.name, s);
    }
  }
  return runs;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Pearson correlation of two equally long series; NaN with fewer than 3 points or no spread. */
export function pearson(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  if (n < 3) return NaN;
  const ma = a.slice(0, n).reduce((s, v) => s + v, 0) / n;
  const mb = b.slice(0, n).reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

/** The values of a metric at the steps both series have. */
export function paired(r: RunSummary, a: string, b: string): [number[], number[]] {
  const bs = new Map(r.series.get(b) ?? []);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const [step, v] of r.series.get(a) ?? []) {
    const w = bs.get(step);
    if (w !== undefined) {
      xs.push(v);
      ys.push(w);
    }
  }
  return [xs, ys];
}

/** A line on stderr for every phase change and every alert of a sweep's runs. */
export function logAlerts(): MonoTypeOperatorFunction<SweepEvent> {
  return tap((e) => {
    if (e.type === 'phase' && e.from !== null) {
      process.stderr.write(`${e.runId}: phase ${e.from} → ${e.to} at step ${e.step}\n`);
    } else if (e.type === 'alert') {
      process.stderr.write(`[${e.level}] ${e.runId}: ${e.message}\n`);
    }
  });
}

export const fmt = (v: number | undefined, digits = 2): string =>
  v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
