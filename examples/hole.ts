/**
 * Seed 004, B.2: compositional generalisation. The model is trained with a square of label
 * space left out (the hole, by default a centred square of side size/4, or `--hole`), and every
 * snapshot samples half its images at labels inside the hole (never seen in training) and
 * half outside. `hole/acc-in` against `hole/acc-out` over training says whether the model
 * places bumps where it has never seen one.
 *
 * Built from public parts rather than the default experiment, because the snapshot labels
 * must come from outside the training set: `training`, `snapshotEvery`, `metricsFrom`,
 * `watchPhases`, `alertOn` and `record`.
 *
 *   npx phasewatch run examples/hole.ts --steps 3000 --serve
 */
import { finalize, from, merge, type Observable, share, switchMap } from 'rxjs';
import {
  alertOn,
  createRng,
  Gate,
  gaussianBumps,
  locateBump,
  metricsFrom,
  nonFinite,
  phaseChanged,
  selectBackend,
  snapshotEvery,
  stalled,
  training,
  UNET_LAYER,
  unetFromConfig,
  watchPhases,
  type Dataset,
  type EventInput,
  type Rect,
  type RunEvent,
  type ScriptContext,
  type Snapshot,
} from 'phasewatch';

/** The default hole: a centred square of side size/4 (1/16 of the label area). */
export function centredHole(size: number): Rect {
  const c = (size - 1) / 2;
  const h = size / 8;
  return { x0: c - h, y0: c - h, x1: c + h, y1: c + h };
}

const inside = (r: Rect, x: number, y: number): boolean =>
  x >= r.x0 && x <= r.x1 && y >= r.y0 && y <= r.y1;

/** `count` labels from the full grid, alternately inside and outside the hole, seeded. */
export function holeConditions(
  full: Dataset,
  hole: Rect,
  count: number,
  seed: number,
): Float32Array {
  const ins: number[] = [];
  const outs: number[] = [];
  for (let i = 0; i < full.count; i++) {
    (inside(hole, full.labels[2 * i], full.labels[2 * i + 1]) ? ins : outs).push(i);
  }
  if (ins.length === 0) {
    throw new Error(
      `hole ${JSON.stringify(hole)} holds no bump centre of the grid (dx ${String(full.labels[2] - full.labels[0])}); make it larger`,
    );
  }
  const rng = createRng(seed * 7919 + 23);
  const out = new Float32Array(count * 2);
  for (let k = 0; k < count; k++) {
    const pool = k % 2 === 0 ? ins : outs;
    const j = pool[rng.int(pool.length)];
    out[2 * k] = full.labels[2 * j];
    out[2 * k + 1] = full.labels[2 * j + 1];
  }
  return out;
}

/** Accuracy (bump within `tol` px on both axes) and one-bump share, inside and outside the hole. */
export function holeAccuracy(s: Snapshot, hole: Rect, tol = 1): Record<string, number> {
  const px = s.size * s.size;
  const n = s.labels.length / 2;
  const acc = { in: 0, out: 0 };
  const one = { in: 0, out: 0 };
  const count = { in: 0, out: 0 };
  for (let i = 0; i < n; i++) {
    const [lx, ly] = [s.labels[2 * i], s.labels[2 * i + 1]];
    const where = inside(hole, lx, ly) ? 'in' : 'out';
    const b = locateBump(s.images.subarray(i * px, (i + 1) * px), s.size);
    count[where]++;
    if (b.count === 1) one[where]++;
    if (Math.abs(b.x - lx) <= tol && Math.abs(b.y - ly) <= tol) acc[where]++;
  }
  // a side with no samples has no figure (metrics must be finite)
  const out: Record<string, number> = {};
  for (const side of ['in', 'out'] as const) {
    if (!count[side]) continue;
    out[`acc-${side}`] = acc[side] / count[side];
    out[`one-bump-${side}`] = one[side] / count[side];
  }
  return out;
}

export default function hole(ctx: ScriptContext): Observable<RunEvent> {
  const cfg = ctx.config;
  const rect = cfg.hole ?? centredHole(cfg.size);
  const grid = {
    size: cfg.size,
    dx: cfg.dx,
    dy: cfg.dy,
    sigma: cfg.sigma,
    margin: cfg.labelMargin,
  };
  const full = gaussianBumps(grid);
  const data = gaussianBumps({ ...grid, hole: rect });
  const conditions = holeConditions(full, rect, cfg.samples, cfg.seed);
  return from(selectBackend(cfg.backend)).pipe(
    switchMap((backend) => {
      const model = unetFromConfig(cfg);
      const store = ctx.createRun({
        config: {
          ...cfg,
          hole: rect,
          model: model.kind,
          datasetSize: data.count,
          params: model.paramCount,
        },
        runId: cfg.runId,
        name: cfg.name ?? 'hole',
        tags: [...(cfg.tags ?? []), 'seed-004', 'hole'],
        backend,
      });
      const gate = new Gate(2);
      const steps$ = training(model, data, {
        steps: cfg.steps,
        batchSize: cfg.batchSize,
        seed: cfg.seed,
        gate,
      }).pipe(share());
      const snaps$ = steps$.pipe(
        snapshotEvery(cfg.snapshotEvery, model, {
          conditions,
          size: cfg.size,
          seed: cfg.seed,
          sampleSteps: cfg.ddimSteps,
          layer: UNET_LAYER,
          gate,
        }),
        share(),
      );
      const events$: Observable<EventInput> = merge(
        steps$,
        snaps$.pipe(metricsFrom((s) => holeAccuracy(s, rect), { prefix: 'hole' })),
        snaps$.pipe(watchPhases({ confirm: cfg.confirm, seed: cfg.seed, embed: cfg.embed })),
      );
      return events$.pipe(
        alertOn(
          phaseChanged<EventInput>(),
          (e) => (e.type === 'phase' ? `phase ${e.from} → ${e.to}` : ''),
          {
            level: 'info',
          },
        ),
        alertOn(nonFinite<EventInput>(), 'the loss is not finite', { level: 'error' }),
        alertOn(
          stalled<EventInput>({ window: Math.max(50, Math.round(cfg.steps / 6)) }),
          'the loss has stalled',
        ),
        ctx.record(store),
        finalize(() => model.dispose()),
      );
    }),
  );
}
