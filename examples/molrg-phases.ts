/**
 * Phase detection for a model that draws no bumps: phasewatch's MLP denoiser, class-conditional,
 * trained on a mixture of low-rank Gaussians (MoLRG, seed 002). Every --snapshot-every steps it
 * samples --samples vectors (DDIM) for a fixed set of asked classes, and `watchPhases` judges the
 * representation — a hidden layer of your choice, at the first or the last sampling step — by
 * the generic rule (A no structure, B a manifold that does not order the classes, C an ordered
 * one): the factor is the class each sample was asked for, the verdict whether the generated
 * vector lies near that class's subspace. The dashboard shows the phases live (docs/interop.md).
 *
 *   npx phasewatch run examples/molrg-phases.ts --steps 3000 --snapshot-every 250 --serve
 *
 * From the command line it takes steps, snapshot-every, samples, batch-size, lr, ema-decay,
 * timesteps (T), ddim-steps, embed, confirm and seed; anything else through the env var
 * MOLRG_PHASES as JSON, e.g. MOLRG_PHASES='{"layer":"layer1","hidden":512}'. Under 200 steps it
 * uses a tiny preset (for tests: seconds).
 */
import { defer, finalize, map, merge, share, switchMap } from 'rxjs';
import type { Observable } from 'rxjs';
import {
  Gate,
  mlpDenoiser,
  molrg,
  representationSnapshots,
  selectBackend,
  snapshotEvery,
  training,
  watchPhases,
  type MolrgDataset,
  type MolrgOptions,
  type RunEvent,
  type ScriptContext,
} from 'phasewatch';

export interface MolrgPhasesOptions {
  steps: number;
  every: number;
  /** Samples per snapshot (asked for classes 0, 1, …, K-1 in turn). */
  samples: number;
  batchSize: number;
  lr: number;
  emaDecay: number;
  /** Diffusion steps T (cosine schedule). */
  T: number;
  /** DDIM steps of each snapshot's samples. */
  sampleSteps: number;
  seed: number;
  /**
   * The hidden layer whose activations are judged: `layer1` or `layer2` at the first sampling
   * step (pure-noise input, as the bump experiment reads its UNet), or `layer1-last` /
   * `layer2-last` at the last (the input nearly clean).
   */
  layer: Layer;
  /** MLP hidden width. */
  hidden: number;
  /** Training examples of the MoLRG. */
  trainCount: number;
  molrg: Pick<MolrgOptions, 'classes' | 'subspaceDim' | 'ambientDim' | 'noise'>;
  /** A sample is ok when its RMS distance off its class's subspace is at most this many δ. */
  okSpread: number;
  embed: 'umap' | 'pca';
  confirm: number;
  backend: string;
}

const LAYERS = ['layer1', 'layer2', 'layer1-last', 'layer2-last'] as const;
type Layer = (typeof LAYERS)[number];

type Preset = Pick<MolrgPhasesOptions, 'layer' | 'hidden' | 'trainCount' | 'molrg' | 'okSpread'>;

export const FULL: Preset = {
  layer: 'layer2',
  hidden: 256,
  trainCount: 5000,
  molrg: { classes: 3, subspaceDim: 4, ambientDim: 32, noise: 0.3 },
  okSpread: 2,
};

export const TINY: Preset = {
  layer: 'layer2',
  hidden: 16,
  trainCount: 300,
  molrg: { classes: 3, subspaceDim: 4, ambientDim: 16, noise: 0.3 },
  okSpread: 2,
};

/** The options a `phasewatch run` context gives (tiny preset under 200 steps), plus MOLRG_PHASES. */
export function optionsFrom(ctx: ScriptContext): MolrgPhasesOptions {
  const c = ctx.config;
  const env = process.env.MOLRG_PHASES;
  let extra: Partial<MolrgPhasesOptions> = {};
  if (env) {
    try {
      extra = JSON.parse(env) as Partial<MolrgPhasesOptions>;
    } catch (err) {
      throw new Error(`MOLRG_PHASES must be a JSON object of options (got ${env})`, {
        cause: err,
      });
    }
  }
  const o: MolrgPhasesOptions = {
    ...(c.steps < 200 ? TINY : FULL),
    steps: c.steps,
    every: c.snapshotEvery,
    samples: c.samples,
    batchSize: c.batchSize,
    lr: c.lr,
    emaDecay: c.emaDecay,
    T: c.timesteps,
    sampleSteps: Math.min(c.ddimSteps, c.timesteps),
    seed: c.seed,
    embed: c.embed,
    confirm: c.confirm,
    backend: c.backend,
    ...extra,
  };
  if (!LAYERS.includes(o.layer)) {
    throw new Error(
      `MOLRG_PHASES layer must be one of ${LAYERS.join(', ')} (got ${String(o.layer)})`,
    );
  }
  if (!(typeof o.okSpread === 'number' && o.okSpread > 0)) {
    throw new Error(`MOLRG_PHASES okSpread must be a number > 0 (got ${String(o.okSpread)})`);
  }
  return o;
}

/**
 * The verdict on each generated vector (N*n in `x`, asked class per row in `classes`): 1 when
 * it lies nearer its class's subspace than any other's and its RMS distance off that subspace is
 * at most `spread`·δ (training data: δ), else 0.
 * @example nearItsSubspace(data, images, labels, 2); // Float32Array of 0/1
 */
export function nearItsSubspace(
  data: Pick<MolrgDataset, 'bases' | 'subspaceDim' | 'ambientDim' | 'noise'>,
  x: Float32Array,
  classes: Float32Array,
  spread: number,
): Float32Array {
  const n = data.ambientDim;
  const d = data.subspaceDim;
  const ok = new Float32Array(classes.length);
  for (let i = 0; i < classes.length; i++) {
    const row = x.subarray(i * n, (i + 1) * n);
    let norm = 0;
    for (const v of row) norm += v * v;
    // energy of the row in each class's subspace: ‖U_k x‖²
    const inside = data.bases.map((U) => {
      let e = 0;
      for (let r = 0; r < d; r++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += U[r * n + j] * row[j];
        e += s * s;
      }
      return e;
    });
    const k = classes[i];
    const nearest = inside.indexOf(Math.max(...inside));
    const off = Math.sqrt(Math.max(0, norm - inside[k]) / (n - d));
    ok[i] = nearest === k && off <= spread * data.noise ? 1 : 0;
  }
  return ok;
}

/** One stored run: the conditional MLP denoiser on MoLRG with its representation phases watched. */
export function molrgPhases(ctx: ScriptContext, o: MolrgPhasesOptions): Observable<RunEvent> {
  return defer(() => selectBackend(o.backend)).pipe(switchMap(() => compose(ctx, o)));
}

function compose(ctx: ScriptContext, o: MolrgPhasesOptions): Observable<RunEvent> {
  const data = molrg({ ...o.molrg, count: o.trainCount, seed: o.seed });
  const model = mlpDenoiser({
    dim: data.ambientDim,
    hidden: o.hidden,
    T: o.T,
    // not cosine: its ᾱ at T-1 is 2.4e-7 (T = 100), and DDIM from pure noise multiplies the first
    // ε error by 1/√ᾱ ≈ 2000 — the samples diverge (linear: 2e-5, and a flat top)
    schedule: 'linear',
    conditional: true,
    labelDim: 1,
    lr: o.lr,
    emaDecay: o.emaDecay,
    seed: o.seed,
  });
  const store = ctx.createRun({
    name: `molrg-phases ${o.steps} steps`,
    tags: ['example', 'molrg', 'representation'],
    config: { example: 'molrg-phases', model: model.kind, paramCount: model.paramCount, ...o },
  });
  // the same asked classes at every snapshot, so snapshots compare
  const asked = Float32Array.from({ length: o.samples }, (_, i) => i % data.classes);
  const gate = new Gate(2);
  const steps$ = training(model, data, {
    steps: o.steps,
    batchSize: o.batchSize,
    seed: o.seed,
    gate,
  }).pipe(share());
  const phases$ = steps$.pipe(
    snapshotEvery(o.every, model, {
      conditions: asked,
      size: data.ambientDim,
      seed: o.seed,
      sampleSteps: o.sampleSteps,
      gate,
    }),
    map((s) => ({ ...s, runId: store.runId })),
    representationSnapshots({
      layer: o.layer,
      factors: (s) => ({ class: { values: s.labels, categorical: true } }),
      samplesOk: (s) => nearItsSubspace(data, s.images, s.labels, o.okSpread),
    }),
    watchPhases({ seed: o.seed, embed: o.embed, confirm: o.confirm }),
  );
  return merge(steps$, phases$).pipe(
    ctx.record(store),
    finalize(() => model.dispose()),
  );
}

export default (ctx: ScriptContext): Observable<RunEvent> => molrgPhases(ctx, optionsFrom(ctx));
