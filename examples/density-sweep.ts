/**
 * Seed 004, Fig. 4: denser data (smaller dx = dy) should reach phase C in fewer steps. A sweep
 * over dx = dy ∈ {0.25, 0.5, 1, 2} × seeds {1, 2, 3}, the same steps and σ for every run, one
 * child process per run (as many at a time as there are cores), then a summary run with
 * steps-to-C against dx (median, min, max) and the mean accuracy and R² curves per dx.
 * Resumable: run it again and finished runs are not repeated.
 *
 *   npx phasewatch run examples/density-sweep.ts --steps 3000 --pos-encoding standard
 *   PHASEWATCH_SWEEP_CONCURRENCY=4 npx phasewatch run examples/density-sweep.ts --size 32
 */
import { from, merge, mergeMap, type Observable, share, toArray } from 'rxjs';
import {
  BUMP_JOB,
  bumpJob,
  sweep,
  type EventInput,
  type RunEvent,
  type ScriptContext,
  type SweepEvent,
} from 'phasewatch';
import {
  fmt,
  logAlerts,
  median,
  summariseRuns,
  sweepBackend,
  TINY_STEPS,
} from './sweep-summary.js';

export const INCREMENTS = [0.25, 0.5, 1, 2];
export const SEEDS = [1, 2, 3];
/** A tiny run (a spec) sweeps less. */
export const TINY = { increments: [0.5, 2], seeds: [1] };

/** What the sweep measured at one increment. */
export interface DensityRow {
  dx: number;
  runs: number;
  /** Steps at which C was first confirmed, of the runs that reached it. */
  stepsToC: number[];
  accuracy: number;
  minutes: number;
}

/** The grid: the defaults (tiny under 200 steps), overridden by the DENSITY_SWEEP env (JSON). */
export function gridFrom(ctx: ScriptContext): { increments: number[]; seeds: number[] } {
  const base = ctx.config.steps < TINY_STEPS ? TINY : { increments: INCREMENTS, seeds: SEEDS };
  const text = process.env.DENSITY_SWEEP;
  if (!text) return base;
  let given: unknown;
  try {
    given = JSON.parse(text);
  } catch {
    given = undefined;
  }
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new Error(`DENSITY_SWEEP must be a JSON object like {"seeds":[1,2]} (got ${text})`);
  }
  const o = { ...base, ...(given as object) } as { increments: unknown; seeds: unknown };
  const list = (k: 'increments' | 'seeds', ok: (v: unknown) => boolean, what: string): number[] => {
    const v = o[k];
    if (!Array.isArray(v) || v.length === 0 || !v.every(ok)) {
      throw new Error(
        `DENSITY_SWEEP ${k} must be a non-empty list of ${what} (got ${JSON.stringify(v)})`,
      );
    }
    return v as number[];
  };
  return {
    increments: list('increments', (v) => typeof v === 'number' && v > 0, 'numbers > 0'),
    seeds: list('seeds', (v) => Number.isInteger(v) && (v as number) >= 0, 'integers >= 0'),
  };
}

export default function densitySweep(ctx: ScriptContext): Observable<SweepEvent> {
  const { increments, seeds } = gridFrom(ctx);
  const points = increments.flatMap((dx) => seeds.map((seed) => ({ dx, dy: dx, seed })));
  const { backend, concurrency } = sweepBackend(ctx, BUMP_JOB, 'default', bumpJob);
  const events$ = sweep(points, backend, {
    concurrency,
    name: 'density',
    runsDir: ctx.runsDir,
    hub: ctx.hub, // the runs show live under --serve
    context: { ...ctx.config, runId: undefined },
  }).pipe(logAlerts(), share());
  const summary$ = events$.pipe(
    toArray(),
    mergeMap((events) =>
      summaryRun(ctx, densityRows(events, increments), { increments, seeds, events }),
    ),
  );
  return merge(events$, summary$);
}

/** Steps-to-C, final accuracy and run time per increment. */
export function densityRows(events: SweepEvent[], increments: number[]): DensityRow[] {
  const runs = [...summariseRuns(events).values()];
  return increments.map((dx) => {
    const mine = runs.filter((r) => r.config.dx === dx);
    const acc = mine.map((r) => r.series.get('phase/accuracy')?.at(-1)?.[1] ?? NaN);
    return {
      dx,
      runs: mine.length,
      stepsToC: mine.flatMap((r) => (r.phaseAt.C === undefined ? [] : [r.phaseAt.C])),
      accuracy: acc.reduce((a, b) => a + b, 0) / acc.length,
      minutes: mine.reduce((a, r) => a + (r.ms ?? 0), 0) / 60000,
    };
  });
}

function summaryRun(
  ctx: ScriptContext,
  rows: DensityRow[],
  sw: { increments: number[]; seeds: number[]; events: SweepEvent[] },
): Observable<RunEvent> {
  process.stdout.write(
    'dx     runs  reached C  steps-to-C median [min, max]  final acc  run-minutes\n',
  );
  for (const r of rows) {
    const s = r.stepsToC;
    process.stdout.write(
      `${String(r.dx).padEnd(6)} ${String(r.runs).padEnd(5)} ${String(s.length).padEnd(10)} ` +
        `${s.length ? `${median(s)} [${Math.min(...s)}, ${Math.max(...s)}]` : '—'}`.padEnd(30) +
        ` ${fmt(r.accuracy).padEnd(10)} ${fmt(r.minutes, 1)}\n`,
    );
  }
  const reached = rows.filter((r) => r.stepsToC.length > 0);
  const last = sw.events.reduce((m, e) => Math.max(m, e.step), 0);
  const out: EventInput[] = [
    {
      type: 'curve',
      name: 'density/steps-to-C',
      x: reached.map((r) => r.dx),
      y: reached.map((r) => median(r.stepsToC)),
      xLabel: 'dx = dy (px)',
      yLabel: 'steps to C (median over seeds)',
      step: last,
    },
    {
      type: 'curve',
      name: 'density/steps-to-C-min',
      x: reached.map((r) => r.dx),
      y: reached.map((r) => Math.min(...r.stepsToC)),
      step: last,
    },
    {
      type: 'curve',
      name: 'density/steps-to-C-max',
      x: reached.map((r) => r.dx),
      y: reached.map((r) => Math.max(...r.stepsToC)),
      step: last,
    },
    {
      type: 'curve',
      name: 'density/reached-C',
      x: rows.map((r) => r.dx),
      y: rows.map((r) => (r.runs ? r.stepsToC.length / r.runs : 0)),
      xLabel: 'dx = dy (px)',
      yLabel: 'fraction of seeds that reached C',
      step: last,
    },
  ];
  // mean accuracy and R² over seeds at each snapshot step, one curve per increment
  const runs = [...summariseRuns(sw.events).values()];
  for (const metric of ['phase/accuracy', 'phase/r2']) {
    for (const dx of sw.increments) {
      const byStep = new Map<number, number[]>();
      for (const r of runs.filter((q) => q.config.dx === dx)) {
        for (const [step, v] of r.series.get(metric) ?? []) {
          byStep.set(step, [...(byStep.get(step) ?? []), v]);
        }
      }
      const steps = [...byStep.keys()].sort((a, b) => a - b);
      out.push({
        type: 'curve',
        name: `density/${metric.slice(6)}@dx${dx}`,
        x: steps,
        y: steps.map((s) => {
          const v = byStep.get(s) ?? [];
          return v.reduce((a, b) => a + b, 0) / v.length;
        }),
        xLabel: 'step',
        yLabel: `${metric} (mean over seeds)`,
        step: last,
      });
    }
  }
  const store = ctx.createRun({
    config: {
      sweep: 'density',
      increments: sw.increments,
      seeds: sw.seeds,
      steps: ctx.config.steps,
      size: ctx.config.size,
      sigma: ctx.config.sigma,
      posEncoding: ctx.config.posEncoding,
    },
    name: 'density-sweep summary',
    tags: ['summary', 'seed-004'],
  });
  return from(out).pipe(ctx.record(store));
}
