/**
 * Seed 003 at small scale: DiER — a timestep-dependent encoder v_t = E(x0, t) trained jointly
 * with the denoiser it conditions — on MoLRG (classify the class) and on the bumps (classify the
 * bump's quadrant), with a linear probe of the encoder's code at a grid of timesteps at every
 * snapshot, beside a probe of the denoiser's 2nd layer. Where does the code's accuracy peak?
 * (docs/results.md, seed 003.)
 *
 *   npx phasewatch run examples/dier.ts --steps 2000 --snapshot-every 1000
 *
 * Takes steps, snapshot-every, batch-size, lr, ema-decay, timesteps (T) and seed from the command
 * line; DIER='{"data":["bumps"]}' (JSON) for the rest. Under 200 steps it uses a tiny preset.
 */
import { concat, defer, finalize, merge, share, switchMap } from 'rxjs';
import type { Observable } from 'rxjs';
import {
  dier,
  exampleLength,
  gaussianBumps,
  molrg,
  selectBackend,
  snapshotEvery,
  timestepProbes,
  training,
  type Dataset,
  type RunEvent,
  type ScriptContext,
} from 'phasewatch';

export interface DierExampleOptions {
  steps: number;
  every: number;
  batchSize: number;
  lr: number;
  emaDecay: number;
  T: number;
  sampleSteps: number;
  seed: number;
  backend: string;
  /** Data sets to run, one stored run each. */
  data: ('molrg' | 'bumps')[];
  hidden: number;
  /** Width of the encoder's code v_t. */
  code: number;
  /** Bump image side (flattened to size² values). */
  bumpSize: number;
  probeCount: number;
  probeTimesteps: number[];
}

const FULL = {
  data: ['molrg', 'bumps'] as ('molrg' | 'bumps')[],
  hidden: 256,
  code: 16,
  bumpSize: 16,
  probeCount: 600,
  probeTimesteps: [0, 5, 10, 20, 30, 40, 60, 80],
};
const TINY: typeof FULL = {
  data: ['molrg', 'bumps'],
  hidden: 16,
  code: 4,
  bumpSize: 8,
  probeCount: 60,
  probeTimesteps: [0, 2, 4, 8],
};

/** Options from a `phasewatch run` context (tiny preset under 200 steps) and the DIER env var. */
export function dierOptionsFrom(ctx: ScriptContext): DierExampleOptions {
  const c = ctx.config;
  let extra: Partial<DierExampleOptions> = {};
  if (process.env.DIER) {
    try {
      extra = JSON.parse(process.env.DIER) as Partial<DierExampleOptions>;
    } catch (err) {
      throw new Error(`DIER must be a JSON object of options (got ${process.env.DIER})`, {
        cause: err,
      });
    }
  }
  return {
    ...(c.steps < 200 ? TINY : FULL),
    steps: c.steps,
    every: c.snapshotEvery,
    batchSize: c.batchSize,
    lr: c.lr,
    emaDecay: c.emaDecay,
    T: c.timesteps,
    sampleSteps: Math.min(c.ddimSteps, c.timesteps),
    seed: c.seed,
    backend: c.backend,
    ...extra,
  };
}

/** Quadrant 0..3 of each bump: (x >= size/2) + 2·(y >= size/2). */
export function quadrants(d: Dataset): Int32Array {
  const half = d.size / 2;
  return Int32Array.from({ length: d.count }, (_, i) => {
    const x = d.labels[2 * i];
    const y = d.labels[2 * i + 1];
    return (x >= half ? 1 : 0) + (y >= half ? 2 : 0);
  });
}

function one(
  ctx: ScriptContext,
  o: DierExampleOptions,
  which: 'molrg' | 'bumps',
): Observable<RunEvent> {
  let train: Dataset;
  let probe: Dataset;
  let targets: Int32Array | undefined;
  if (which === 'molrg') {
    const shape = { classes: 3, subspaceDim: 8, ambientDim: 64, noise: 0.3 };
    if (o.hidden < 32) Object.assign(shape, { subspaceDim: 2, ambientDim: 12 });
    train = molrg({ ...shape, count: 5000, seed: o.seed });
    probe = molrg({ ...shape, count: o.probeCount, seed: o.seed + 1000 });
  } else {
    train = gaussianBumps({ size: o.bumpSize, dx: 0.5 });
    // Bumps off the training grid (dx 0.65 vs 0.5); all of them are probed, so every quadrant is.
    probe = gaussianBumps({ size: o.bumpSize, dx: 0.65 });
    targets = quadrants(probe);
  }
  const labelDim = train.labelDim ?? 2;
  const model = dier({
    dim: exampleLength(train),
    hidden: o.hidden,
    encoderDim: o.code,
    encoderHidden: o.hidden,
    labelDim,
    T: o.T,
    schedule: 'cosine',
    lr: o.lr,
    emaDecay: o.emaDecay,
    seed: o.seed,
  });
  const store = ctx.createRun({
    name: `dier ${which} ${o.steps} steps`,
    tags: ['seed-003', which],
    config: { example: 'dier', ...o, data: which, model: model.kind, paramCount: model.paramCount },
  });
  const steps$ = training(model, train, {
    steps: o.steps,
    batchSize: o.batchSize,
    seed: o.seed,
  }).pipe(share());
  const snaps$ = steps$.pipe(
    snapshotEvery(o.every, model, {
      conditions: new Float32Array(16 * labelDim),
      size: which === 'molrg' ? exampleLength(train) : o.bumpSize,
      seed: o.seed,
      sampleSteps: o.sampleSteps,
    }),
    share(),
  );
  const common = {
    model,
    probe,
    targets,
    count: which === 'bumps' ? probe.count : Math.min(o.probeCount, probe.count),
    seed: o.seed,
    timesteps: o.probeTimesteps,
  };
  return merge(
    steps$,
    snaps$.pipe(timestepProbes({ ...common, layer: 'encoder', name: 'dier/encoder' })),
    snaps$.pipe(timestepProbes({ ...common, layer: 'layer2', name: 'dier/layer2' })),
  ).pipe(
    ctx.record(store),
    finalize(() => model.dispose()),
  );
}

/** The DiER runs, one per data set, one after the other. */
export function dierRuns(ctx: ScriptContext, o: DierExampleOptions): Observable<RunEvent> {
  return defer(() => selectBackend(o.backend)).pipe(
    switchMap(() => concat(...o.data.map((which) => defer(() => one(ctx, o, which))))),
  );
}

export default (ctx: ScriptContext): Observable<RunEvent> => dierRuns(ctx, dierOptionsFrom(ctx));
