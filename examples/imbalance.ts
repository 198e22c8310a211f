/**
 * Seed 004, Fig. 5: with dx ≠ dy, are x and y learnt separately? Two imbalanced datasets, the
 * seed's strong (dx 0.1, dy 1.0 at 32 px) and weak (dx 0.5, dy 1.0) cases scaled to the image
 * size, run in parallel; every snapshot also gets per-axis accuracy (`axis/acc-x`,
 * `axis/acc-y`, an operator of this script). The summary run holds R²x against R²y and
 * acc-x against acc-y per case, and their correlation over training.
 *
 *   npx phasewatch run examples/imbalance.ts --steps 3000
 *   IMBALANCE_CASES=strong npx phasewatch run examples/imbalance.ts --seed 2   # one case
 */
import {
  from,
  merge,
  mergeMap,
  type Observable,
  type OperatorFunction,
  share,
  toArray,
} from 'rxjs';
import {
  bumpJob,
  locateBump,
  metricsFrom,
  sweep,
  type EventInput,
  type RunEvent,
  type ScriptContext,
  type Snapshot,
  type SweepEvent,
  type SweepJob,
} from 'phasewatch';
import {
  fmt,
  logAlerts,
  paired,
  pearson,
  summariseRuns,
  sweepBackend,
  type RunSummary,
} from './sweep-summary.js';

/** The seed's cases at 32 px; `scaledCases` scales them to the run's image size. */
export const CASES = [
  { case: 'strong', dx: 0.1, dy: 1.0 },
  { case: 'weak', dx: 0.5, dy: 1.0 },
];

export function scaledCases(size: number): { case: string; dx: number; dy: number }[] {
  const k = size / 32;
  return CASES.map((c) => ({ ...c, dx: +(c.dx * k).toFixed(4), dy: +(c.dy * k).toFixed(4) }));
}

/** The scaled cases named in `names` (IMBALANCE_CASES, comma-separated; default: all). */
export function casesFrom(
  names: string | undefined,
  size: number,
): { case: string; dx: number; dy: number }[] {
  const all = scaledCases(size);
  if (names === undefined || names.trim() === '') return all;
  const wanted = names.split(',').map((n) => n.trim());
  const unknown = wanted.find((n) => !all.some((c) => c.case === n));
  if (unknown !== undefined) {
    throw new Error(
      `IMBALANCE_CASES must name cases among ${all.map((c) => c.case).join(', ')} (got ${JSON.stringify(unknown)})`,
    );
  }
  return all.filter((c) => wanted.includes(c.case));
}

/** Fraction of a snapshot's images whose bump is within `tol` px of the label along x, and along y. */
export function axisAccuracy(s: Snapshot, tol = 1): { x: number; y: number } {
  const px = s.size * s.size;
  const n = s.labels.length / 2;
  let x = 0;
  let y = 0;
  for (let i = 0; i < n; i++) {
    const b = locateBump(s.images.subarray(i * px, (i + 1) * px), s.size);
    if (Math.abs(b.x - s.labels[2 * i]) <= tol) x++;
    if (Math.abs(b.y - s.labels[2 * i + 1]) <= tol) y++;
  }
  return n ? { x: x / n, y: y / n } : { x: 0, y: 0 };
}

/** The operator: `axis/acc-x` and `axis/acc-y` at every snapshot. */
export function axisMetrics(tol = 1): OperatorFunction<Snapshot, EventInput> {
  return metricsFrom(
    (s) => {
      const a = axisAccuracy(s, tol);
      return { 'acc-x': a.x, 'acc-y': a.y };
    },
    { prefix: 'axis' },
  );
}

/** The job each child runs: the default experiment with the per-axis operator. */
export function job(point: SweepJob['point'], j: SweepJob): Observable<RunEvent> {
  return bumpJob(point, j, { operators: [axisMetrics()] });
}

export default function imbalance(ctx: ScriptContext): Observable<SweepEvent> {
  const points = casesFrom(process.env.IMBALANCE_CASES, ctx.config.size).map((c) => ({
    dx: c.dx,
    dy: c.dy,
    seed: ctx.config.seed,
  }));
  const { backend, concurrency } = sweepBackend(ctx, new URL(import.meta.url), 'job', job);
  const events$ = sweep(points, backend, {
    concurrency,
    name: 'imbalance',
    runsDir: ctx.runsDir,
    hub: ctx.hub, // the runs show live under --serve
    context: { ...ctx.config, runId: undefined },
  }).pipe(logAlerts(), share());
  const summary$ = events$.pipe(
    toArray(),
    mergeMap((events) => summaryRun(ctx, [...summariseRuns(events).values()])),
  );
  return merge(events$, summary$);
}

/** `strong` or `weak` when the run's dx, dy are one of the scaled cases; else `dx…-dy…`. */
function caseName(r: RunSummary): string {
  const size = Number(r.config.size);
  const c = scaledCases(size).find((k) => k.dx === r.config.dx && k.dy === r.config.dy);
  return c ? c.case : `dx${String(r.config.dx)}-dy${String(r.config.dy)}`;
}

/** Per case: the last per-axis figures and the correlations over training. */
export function imbalanceRows(runs: RunSummary[]): {
  case: string;
  dx: number;
  dy: number;
  accX: number;
  accY: number;
  r2x: number;
  r2y: number;
  corrR2: number;
  corrAcc: number;
}[] {
  return runs
    .filter((r) => r.config.dx !== r.config.dy)
    .map((r) => {
      const last = (m: string): number => r.series.get(m)?.at(-1)?.[1] ?? NaN;
      return {
        case: caseName(r),
        dx: Number(r.config.dx),
        dy: Number(r.config.dy),
        accX: last('axis/acc-x'),
        accY: last('axis/acc-y'),
        r2x: last('phase/r2x'),
        r2y: last('phase/r2y'),
        corrR2: pearson(...paired(r, 'phase/r2x', 'phase/r2y')),
        corrAcc: pearson(...paired(r, 'axis/acc-x', 'axis/acc-y')),
      };
    });
}

function summaryRun(ctx: ScriptContext, runs: RunSummary[]): Observable<RunEvent> {
  const rows = imbalanceRows(runs);
  process.stdout.write(
    'case    dx      dy      acc-x  acc-y  R²x    R²y    corr(R²x,R²y)  corr(acc-x,acc-y)\n',
  );
  for (const r of rows) {
    process.stdout.write(
      `${r.case.padEnd(7)} ${String(r.dx).padEnd(7)} ${String(r.dy).padEnd(7)} ${fmt(r.accX).padEnd(6)} ${fmt(r.accY).padEnd(6)} ` +
        `${fmt(r.r2x).padEnd(6)} ${fmt(r.r2y).padEnd(6)} ${fmt(r.corrR2).padEnd(14)} ${fmt(r.corrAcc)}\n`,
    );
  }
  const last = runs.reduce(
    (m, r) => Math.max(m, ...[...r.series.values()].flatMap((s) => s.map(([st]) => st))),
    0,
  );
  const out: EventInput[] = [];
  for (const r of runs) {
    const name = caseName(r);
    const [r2x, r2y] = paired(r, 'phase/r2x', 'phase/r2y');
    const [ax, ay] = paired(r, 'axis/acc-x', 'axis/acc-y');
    out.push(
      {
        type: 'curve',
        name: `imbalance/r2y-vs-r2x@${name}`,
        x: r2x,
        y: r2y,
        xLabel: 'R²x',
        yLabel: 'R²y',
        step: last,
      },
      {
        type: 'curve',
        name: `imbalance/accy-vs-accx@${name}`,
        x: ax,
        y: ay,
        xLabel: 'acc x',
        yLabel: 'acc y',
        step: last,
      },
    );
  }
  for (const r of rows) {
    for (const [k, v] of Object.entries({
      'corr-r2': r.corrR2,
      'corr-acc': r.corrAcc,
      'acc-x': r.accX,
      'acc-y': r.accY,
    })) {
      if (Number.isFinite(v))
        out.push({ type: 'metric', name: `imbalance/${k}@${r.case}`, value: v, step: last });
    }
  }
  const store = ctx.createRun({
    config: {
      sweep: 'imbalance',
      cases: scaledCases(ctx.config.size),
      steps: ctx.config.steps,
      size: ctx.config.size,
      seed: ctx.config.seed,
    },
    name: 'imbalance summary',
    tags: ['summary', 'seed-004'],
  });
  return from(out).pipe(ctx.record(store));
}
