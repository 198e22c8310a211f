/**
 * Seed 004's phase B (one bump, in the wrong place) between A and C: the default model learns
 * placement together with the bump and skips B (docs/phases.md). This sweep trains the same
 * model with the seed's position encoding (`standard`, the transformer sinusoid of the raw
 * coordinate) and with ours (`fine`), on several seeds, in parallel, and prints for each run
 * the steps at which A, B and C were confirmed, the longest stretch of raw-B snapshots and the
 * evidence there (one-bump share, accuracy among one-bump images, TWO-NN dimension).
 *
 *   npx phasewatch run examples/phase-b.ts --steps 3000 --snapshot-every 100 --confirm 1
 *   PHASE_B='{"encodings":["standard"],"seeds":[1,2,3]}' npx phasewatch run examples/phase-b.ts
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
  summariseRuns,
  sweepBackend,
  TINY_STEPS,
  type RunSummary,
} from './sweep-summary.js';

export interface PhaseBOptions {
  encodings: ('fine' | 'standard')[];
  seeds: number[];
}

export const DEFAULTS: PhaseBOptions = { encodings: ['standard', 'fine'], seeds: [1, 2, 3] };
export const TINY: PhaseBOptions = { encodings: ['standard'], seeds: [1] };

/** The sweep's settings: defaults (tiny under 200 steps), overridden by the PHASE_B env (JSON). */
export function optionsFrom(ctx: ScriptContext): PhaseBOptions {
  const base = ctx.config.steps < TINY_STEPS ? TINY : DEFAULTS;
  const text = process.env.PHASE_B;
  if (!text) return base;
  let given: unknown;
  try {
    given = JSON.parse(text);
  } catch {
    throw new Error(`PHASE_B must be a JSON object like {"seeds":[1,2]} (got ${text})`);
  }
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new Error(`PHASE_B must be a JSON object like {"seeds":[1,2]} (got ${text})`);
  }
  const o = { ...base, ...(given as Partial<PhaseBOptions>) };
  if (
    !Array.isArray(o.encodings) ||
    o.encodings.length === 0 ||
    !o.encodings.every((e) => e === 'fine' || e === 'standard')
  ) {
    throw new Error(
      `PHASE_B encodings must be a non-empty list of fine, standard (got ${JSON.stringify(o.encodings)})`,
    );
  }
  if (
    !Array.isArray(o.seeds) ||
    o.seeds.length === 0 ||
    !o.seeds.every((s) => Number.isInteger(s) && s >= 0)
  ) {
    throw new Error(
      `PHASE_B seeds must be a non-empty list of integers >= 0 (got ${JSON.stringify(o.seeds)})`,
    );
  }
  return o;
}

/** What one run showed about B. */
export interface PhaseBRow {
  runId: string;
  posEncoding: string;
  seed: number;
  phaseAt: RunSummary['phaseAt'];
  /** The longest run of consecutive snapshots the raw rule called B: [first step, last step]. */
  rawB?: [number, number];
  /** Evidence at the middle of that stretch. */
  oneBump?: number;
  accOneBump?: number;
  intrinsicDim?: number;
  minutes: number;
}

export default function phaseB(ctx: ScriptContext): Observable<SweepEvent> {
  const o = optionsFrom(ctx);
  const points = o.encodings.flatMap((posEncoding) =>
    o.seeds.map((seed) => ({ posEncoding, seed })),
  );
  const { backend, concurrency } = sweepBackend(ctx, BUMP_JOB, 'default', bumpJob);
  const events$ = sweep(points, backend, {
    concurrency,
    name: 'phase-b',
    runsDir: ctx.runsDir,
    hub: ctx.hub, // the runs show live under --serve
    context: { ...ctx.config, runId: undefined },
  }).pipe(logAlerts(), share());
  const summary$ = events$.pipe(
    toArray(),
    mergeMap((events) => summaryRun(ctx, phaseBRows(events))),
  );
  return merge(events$, summary$);
}

export function phaseBRows(events: SweepEvent[]): PhaseBRow[] {
  const runs = summariseRuns(events);
  // raw phases per run from the assessments
  const raw = new Map<string, { step: number; raw: string; ev: Record<string, number> }[]>();
  for (const e of events) {
    if (e.type !== 'assessment') continue;
    raw.set(e.runId, [
      ...(raw.get(e.runId) ?? []),
      { step: e.step, raw: e.rawPhase, ev: { ...e.evidence, one: e.bumps.one } },
    ]);
  }
  return [...runs.values()]
    .filter((r) => r.config.posEncoding !== undefined)
    .map((r) => {
      const list = raw.get(r.runId) ?? [];
      let best: [number, number] | undefined;
      let start = -1;
      list.forEach((a, i) => {
        if (a.raw === 'B' && start < 0) start = i;
        const endsHere = a.raw === 'B' && (i === list.length - 1 || list[i + 1].raw !== 'B');
        if (endsHere) {
          if (!best || i - start > best[1] - best[0]) best = [start, i];
          start = -1;
        }
      });
      const mid = best ? list[Math.floor((best[0] + best[1]) / 2)] : undefined;
      return {
        runId: r.runId,
        posEncoding: String(r.config.posEncoding),
        seed: Number(r.config.seed),
        phaseAt: r.phaseAt,
        rawB: best ? [list[best[0]].step, list[best[1]].step] : undefined,
        oneBump: mid?.ev.one,
        accOneBump: mid?.ev.accuracyOneBump,
        intrinsicDim: mid?.ev.intrinsicDim,
        minutes: (r.ms ?? 0) / 60000,
      };
    });
}

function summaryRun(ctx: ScriptContext, rows: PhaseBRow[]): Observable<RunEvent> {
  process.stdout.write(
    'encoding  seed  A     B     C     raw-B stretch   one-bump  acc(one)  TWO-NN  minutes\n',
  );
  for (const r of rows) {
    const at = (p: 'A' | 'B' | 'C'): string => String(r.phaseAt[p] ?? '—').padEnd(5);
    process.stdout.write(
      `${r.posEncoding.padEnd(9)} ${String(r.seed).padEnd(5)} ${at('A')} ${at('B')} ${at('C')} ` +
        `${(r.rawB ? `${r.rawB[0]}–${r.rawB[1]}` : '—').padEnd(15)} ${fmt(r.oneBump).padEnd(9)} ${fmt(r.accOneBump).padEnd(9)} ` +
        `${fmt(r.intrinsicDim).padEnd(7)} ${fmt(r.minutes, 1)}\n`,
    );
  }
  const step = rows.reduce((m, r) => Math.max(m, r.phaseAt.C ?? 0, r.phaseAt.B ?? 0), 0);
  const out: EventInput[] = [];
  for (const r of rows) {
    for (const p of ['A', 'B', 'C'] as const) {
      const at = r.phaseAt[p];
      if (at !== undefined) {
        out.push({
          type: 'metric',
          name: `phase-b/steps-to-${p}@${r.posEncoding}`,
          value: at,
          step,
          tags: { seed: String(r.seed), runId: r.runId },
        });
      }
    }
  }
  const store = ctx.createRun({
    config: {
      sweep: 'phase-b',
      runs: rows.map((r) => r.runId),
      steps: ctx.config.steps,
      size: ctx.config.size,
    },
    name: 'phase-b summary',
    tags: ['summary', 'seed-004'],
  });
  return from(out).pipe(ctx.record(store));
}
