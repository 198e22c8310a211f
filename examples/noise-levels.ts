/**
 * Seed 002 at small scale: an MLP denoiser trained on a noisy mixture of low-rank Gaussians
 * (MoLRG), probed at every snapshot across diffusion timesteps. Expected (and measured, see
 * docs/results.md): linear-probe accuracy and CSNR against t are unimodal; clean inputs beat
 * noisy ones; the soft-voting ensemble beats the best single timestep, more so under label noise.
 *
 *   npx phasewatch run examples/noise-levels.ts --steps 3000 --snapshot-every 1000
 *
 * From the command line it takes steps, snapshot-every, batch-size, lr, ema-decay, timesteps (T)
 * and seed; anything else through the env var NOISE_LEVELS as JSON, e.g.
 * NOISE_LEVELS='{"hidden":1024,"trainCount":100}'. Under 200 steps it uses a tiny preset (for
 * tests: seconds).
 */
import { defer, finalize, merge, of, share, switchMap } from 'rxjs';
import type { Observable } from 'rxjs';
import {
  accuracy,
  csnr,
  fitLinearProbe,
  mlpDenoiser,
  molrg,
  probeLogits,
  selectBackend,
  sigmaFromAlphaBar,
  snapshotEvery,
  softVote,
  timestepMI,
  timestepProbes,
  training,
  trajectoryProbe,
  type EventInput,
  type MolrgDataset,
  type MolrgOptions,
  type RunEvent,
  type ScriptContext,
} from 'phasewatch';

export interface NoiseLevelsOptions {
  steps: number;
  every: number;
  batchSize: number;
  lr: number;
  emaDecay: number;
  /** Diffusion steps T (cosine schedule). */
  T: number;
  /** DDIM steps of each snapshot's samples. */
  sampleSteps: number;
  seed: number;
  /** MLP hidden width (seed 002: 1024). */
  hidden: number;
  /** Training examples of the MoLRG (too few and the unimodality fades, seed 002 §A.2). */
  trainCount: number;
  molrg: Pick<MolrgOptions, 'classes' | 'subspaceDim' | 'ambientDim' | 'noise'>;
  /** Probe-set examples (70 % train, 30 % test). */
  probeCount: number;
  /** Timestep grid of the probes. */
  probeTimesteps: number[];
  /** Label-noise levels of the ensemble comparison. */
  labelNoise: number[];
  /** Linear-probe iterations. */
  probeIterations: number;
  /** Linear-probe L2 penalty (stronger helps under label noise). */
  probeL2: number;
  /** Also run seed 000's trajectory probes (GRU and attention) and the timestep MI matrix. */
  trajectories: boolean;
  /** Full-batch Adam iterations of each trajectory / per-timestep MLP head. */
  trajectoryIterations: number;
  backend: string;
}

export const FULL: Omit<
  NoiseLevelsOptions,
  'steps' | 'every' | 'batchSize' | 'lr' | 'emaDecay' | 'T' | 'sampleSteps' | 'seed' | 'backend'
> = {
  hidden: 256,
  trainCount: 5000,
  molrg: { classes: 3, subspaceDim: 8, ambientDim: 64, noise: 0.3 },
  probeCount: 1000,
  probeTimesteps: [0, 2, 5, 10, 15, 20, 30, 40, 60, 80],
  labelNoise: [0, 0.8],
  probeIterations: 200,
  probeL2: 1e-3,
  trajectories: false,
  trajectoryIterations: 300,
};

export const TINY: typeof FULL = {
  hidden: 16,
  trainCount: 300,
  molrg: { classes: 3, subspaceDim: 2, ambientDim: 12, noise: 0.3 },
  probeCount: 60,
  probeTimesteps: [0, 1, 2, 4, 8],
  labelNoise: [0, 0.8],
  probeIterations: 20,
  probeL2: 1e-3,
  trajectories: false,
  trajectoryIterations: 5,
};

/** The options a `phasewatch run` context gives (tiny preset under 200 steps), plus NOISE_LEVELS. */
export function optionsFrom(ctx: ScriptContext): NoiseLevelsOptions {
  const c = ctx.config;
  const preset = c.steps < 200 ? TINY : FULL;
  const env = process.env.NOISE_LEVELS;
  let extra: Partial<NoiseLevelsOptions> = {};
  if (env) {
    try {
      extra = JSON.parse(env) as Partial<NoiseLevelsOptions>;
    } catch (err) {
      throw new Error(
        `NOISE_LEVELS must be a JSON object of options (got ${env}): ${String(err)}`,
        {
          cause: err,
        },
      );
    }
  }
  return {
    ...preset,
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

/**
 * Reference curve: linear-probe accuracy of the analytic optimal posterior on clean inputs
 * (|E[x0 | x0, σ_t]|, as the seed probes it) at each probe timestep — what a perfect denoiser's
 * output would give.
 */
export function posteriorProbeCurve(
  train: MolrgDataset,
  test: MolrgDataset,
  alphaBars: ArrayLike<number>,
  timesteps: number[],
  iterations: number,
): number[] {
  const abs = (x: Float32Array): Float32Array => x.map(Math.abs);
  return timesteps.map((t) => {
    const sigma = sigmaFromAlphaBar(alphaBars[t]);
    const p = fitLinearProbe(
      abs(train.posteriorMean(train.data, sigma)),
      train.classOf,
      train.ambientDim,
      {
        iterations,
      },
    );
    return accuracy(probeLogits(p, abs(test.posteriorMean(test.data, sigma))), test.classOf);
  });
}

/** One stored run of the noise-levels experiment; returns the stored events. */
export function noiseLevels(ctx: ScriptContext, o: NoiseLevelsOptions): Observable<RunEvent> {
  return defer(() => selectBackend(o.backend)).pipe(switchMap(() => compose(ctx, o)));
}

function compose(ctx: ScriptContext, o: NoiseLevelsOptions): Observable<RunEvent> {
  const shape = o.molrg;
  const data = molrg({ ...shape, count: o.trainCount, seed: o.seed });
  // Held out from training, same subspaces: the probes' examples.
  const probe = molrg({ ...shape, count: o.probeCount, seed: o.seed + 1000 });
  const refTrain = molrg({ ...shape, count: o.probeCount, seed: o.seed + 2000 });
  const model = mlpDenoiser({
    dim: data.ambientDim,
    hidden: o.hidden,
    T: o.T,
    schedule: 'cosine',
    lr: o.lr,
    emaDecay: o.emaDecay,
    seed: o.seed,
  });
  const store = ctx.createRun({
    name: `noise-levels ${o.steps} steps`,
    tags: ['seed-002', 'molrg'],
    config: { example: 'noise-levels', model: model.kind, paramCount: model.paramCount, ...o },
  });
  const steps$ = training(model, data, {
    steps: o.steps,
    batchSize: o.batchSize,
    seed: o.seed,
  }).pipe(share());
  const snaps$ = steps$.pipe(
    snapshotEvery(o.every, model, {
      conditions: new Float32Array(32),
      size: data.ambientDim,
      seed: o.seed,
      sampleSteps: o.sampleSteps,
    }),
    share(),
  );
  const common = {
    model,
    probe,
    count: o.probeCount,
    seed: o.seed,
    linear: { iterations: o.probeIterations, l2: o.probeL2 },
  };
  const reference: EventInput = {
    type: 'curve',
    step: 0,
    name: 'probe/acc-posterior',
    x: o.probeTimesteps,
    y: posteriorProbeCurve(
      refTrain,
      probe,
      model.schedule.alphaBars,
      o.probeTimesteps,
      o.probeIterations,
    ),
    xLabel: 'timestep',
    yLabel: 'test accuracy (analytic posterior)',
  };
  return merge(
    of(reference),
    steps$,
    snaps$.pipe(timestepProbes({ ...common, timesteps: o.probeTimesteps, input: 'clean' })),
    snaps$.pipe(timestepProbes({ ...common, timesteps: o.probeTimesteps, input: 'noisy' })),
    snaps$.pipe(csnr({ ...common, timesteps: o.probeTimesteps })),
    snaps$.pipe(softVote({ ...common, timesteps: o.probeTimesteps, labelNoise: o.labelNoise })),
    ...(o.trajectories
      ? [
          snaps$.pipe(
            trajectoryProbe({
              ...common,
              timesteps: o.probeTimesteps,
              kind: 'gru',
              iterations: o.trajectoryIterations,
            }),
          ),
          snaps$.pipe(
            trajectoryProbe({
              ...common,
              timesteps: o.probeTimesteps,
              kind: 'attention',
              iterations: o.trajectoryIterations,
              compare: false,
            }),
          ),
          snaps$.pipe(timestepMI({ ...common, timesteps: o.probeTimesteps, count: 300 })),
        ]
      : []),
  ).pipe(
    ctx.record(store),
    finalize(() => model.dispose()),
  );
}

export default (ctx: ScriptContext): Observable<RunEvent> => noiseLevels(ctx, optionsFrom(ctx));
