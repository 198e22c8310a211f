/**
 * Seed 001 — DiVA on disks: a diffusion model whose inference network's guidance score
 * ∇ₓ log qφ(z | x_t) steers an unconditional UNet denoiser, trained on images of one disk
 * (centre cx, cy; background intensity) with a 3-D latent. At every snapshot it records
 * how well each ground-truth factor is read out of the latent (`diva/r2/*`), how many latent
 * axes each uses (`diva/participation/*`), the TAD disentanglement score of the factors
 * binarised at their medians (`diva/tad`), the reconstruction error of samples guided by an
 * image against unguided ones (`diva/conditional-mse`; with the score ×4
 * `diva/conditional-mse/ddim-x4`; sampled as the seed's Algorithm 1 writes it
 * `diva/conditional-mse/algorithm1-x1`; `diva/unconditional-mse`), the straightness of encoded disk
 * trajectories, and a guide → samples image grid.
 *
 *   npx phasewatch run examples/diva-disks.ts --backend native --serve
 *
 * From the command line it takes steps, snapshot-every, size, widths, cond-hidden, timesteps,
 * batch-size, lr, ema-decay, ddim-steps, seed and backend (where left at the global default,
 * `DIVA_TRAINING` below applies); the DiVA settings are `DIVA` below. By default the run first
 * trains the denoiser as a plain DDPM, then only the inference network on it (the seed's
 * frozen-denoiser variant); joint training (the seed's Algorithm 2 from the start):
 *
 *   DIVA_DISKS='{"pretrainSteps":0,"freezeDenoiser":false}' npx phasewatch run examples/diva-disks.ts
 */
import { defer, filter, finalize, map, merge, mergeMap, share, switchMap } from 'rxjs';
import {
  conditionalMse,
  DEFAULT_CONFIG,
  diskTrajectories,
  disks,
  diva,
  Gate,
  latentProbe,
  latentStraightness,
  selectBackend,
  snapshotEvery,
  training,
} from 'phasewatch';
import type {
  ConditionalSampler,
  DivaConfig,
  EventInput,
  ExperimentConfig,
  ScriptContext,
} from 'phasewatch';

/** The DiVA settings (seed 001, A.5, scaled down to train on a CPU in minutes). */
export const DIVA = {
  /** Latent dimension: one per ground-truth factor, as in the seed. */
  latentDim: 3,
  /** KL weight per example and pixel (see `Diva.lossTerms`). */
  beta: 0.001,
  /** Channels of the inference network's two 3×3 stride-2 convolutions (the seed: 96, 96). */
  encoderChannels: [16, 16] as [number, number],
  /**
   * The inference network's learning rate (the denoiser's is `--lr`; see `DivaConfig.encoderLr`):
   * at 2e-3 the encoder stays in the harmless state its first steps put it in.
   */
  encoderLr: 0.01 as number | null,
  /**
   * Plain DDPM steps before DiVA training starts (see `DivaConfig.pretrainSteps`); with
   * `freezeDenoiser` only the encoder trains after them — the seed's frozen-denoiser variant,
   * which at this scale conditions reliably where joint training (pretrainSteps 0,
   * freezeDenoiser false) does not (docs/results.md, seed 001).
   */
  pretrainSteps: 2000,
  /** Train only the encoder after the pretraining (the seed's frozen-denoiser variant). */
  freezeDenoiser: true,
  /** Training set size (the seed: 2000). */
  count: 2000,
  /** Held-out disks the latent probe reads. */
  probeCount: 500,
  /** Guides of the reconstruction test, and samples per guide. */
  guides: 16,
  perGuide: 2,
  /**
   * Samplers of the reconstruction test: DDIM with the seed's guided estimate (Eq. 8), the
   * same with the score ×4 at sampling time, and the seed's Algorithm 1 as written (all T
   * ancestral steps, a stronger guidance; see docs/results.md, seed 001).
   */
  samplers: [
    { method: 'ddim', guidance: 1 },
    { method: 'ddim', guidance: 4 },
    { method: 'algorithm1', guidance: 1 },
  ] as ConditionalSampler[],
};

/**
 * The example's own training settings, used where the command line leaves the global default:
 * 4000 steps (2000 of them the denoiser's, `DIVA.pretrainSteps`), the denoiser's learning
 * rate 2e-3 (the encoder's is `DIVA.encoderLr`; 6e-3 for both, the seed's, diverged after
 * 3500 steps at this batch), a small UNet, batch 32, snapshots every 500 steps. A flag given with the global default's value counts as not given.
 */
export const DIVA_TRAINING: Partial<ExperimentConfig> = {
  steps: 4000,
  lr: 2e-3,
  batchSize: 32,
  widths: [16, 32, 32],
  condHidden: 32,
  snapshotEvery: 500,
};

/** The config with the example's training settings wherever the command line left a default. */
export function divaConfig(config: ExperimentConfig): ExperimentConfig {
  const out = { ...config } as Record<string, unknown>;
  for (const [k, v] of Object.entries(DIVA_TRAINING)) {
    const key = k as keyof ExperimentConfig;
    if (JSON.stringify(config[key]) === JSON.stringify(DEFAULT_CONFIG[key])) out[k] = v;
  }
  return out as unknown as ExperimentConfig;
}

export default ({ config: given, createRun, record }: ScriptContext) => {
  const config = divaConfig(given);
  return defer(() => selectBackend(config.backend)).pipe(
    switchMap((backend) => {
      const S = config.size;
      const small = S <= 8;
      const data = disks({ size: S, count: DIVA.count, seed: config.seed });
      const probe = disks({ size: S, count: small ? 64 : DIVA.probeCount, seed: config.seed + 1 });
      const nGuides = small ? 4 : DIVA.guides;
      const guides = new Float32Array(nGuides * S * S);
      for (let i = 0; i < nGuides; i++) guides.set(probe.image(i), i * S * S);
      const model = diva({
        size: S,
        widths: config.widths as [number, number, number],
        condHidden: config.condHidden,
        T: config.timesteps,
        schedule: 'linear',
        lr: config.lr,
        emaDecay: config.emaDecay,
        seed: config.seed,
        latentDim: DIVA.latentDim,
        beta: DIVA.beta,
        encoderChannels: small ? [4, 4] : DIVA.encoderChannels,
        encoderLr: DIVA.encoderLr,
        pretrainSteps: small ? 0 : DIVA.pretrainSteps,
        freezeDenoiser: small ? false : DIVA.freezeDenoiser,
        // DIVA_DISKS (JSON) overrides any DiVA setting, e.g. '{"freezeDenoiser":true}'.
        ...(JSON.parse(process.env.DIVA_DISKS ?? '{}') as Partial<DivaConfig>),
      });
      const store = createRun({
        name: 'diva-disks',
        tags: ['example', 'seed-001', 'diva'],
        backend,
        config: {
          model: model.kind,
          ...model.config,
          params: model.paramCount,
          steps: config.steps,
          snapshotEvery: config.snapshotEvery,
          batchSize: config.batchSize,
          dataset: 'disks',
          count: DIVA.count,
        },
      });
      const gate = new Gate(1);
      const sampleSteps = Math.min(config.ddimSteps, config.timesteps);
      const steps$ = training(model, data, {
        steps: config.steps,
        batchSize: config.batchSize,
        seed: config.seed,
        gate,
      }).pipe(share());
      const snaps$ = steps$.pipe(
        snapshotEvery(config.snapshotEvery, model, {
          conditions: guides.subarray(0, Math.min(4, nGuides) * S * S),
          size: S,
          seed: config.seed,
          sampleSteps,
          layer: 'mu',
          gate,
        }),
        map((s) => ({ ...s, runId: store.runId })),
        share(),
      );
      // The two loss terms, every 10 steps (the step events carry their sum).
      const loss$ = steps$.pipe(
        filter((e) => e.step % 10 === 0 && model.lastTerms !== null),
        mergeMap((e): EventInput[] => [
          { type: 'metric', name: 'diva/loss/mse', value: model.lastTerms?.mse ?? 0, step: e.step },
          { type: 'metric', name: 'diva/loss/kl', value: model.lastTerms?.kl ?? 0, step: e.step },
        ]),
      );
      return merge(
        steps$,
        loss$,
        snaps$.pipe(latentProbe({ model, probe, gate })),
        snaps$.pipe(
          conditionalMse({
            model,
            guides,
            size: S,
            perGuide: DIVA.perGuide,
            samplers: small ? DIVA.samplers.slice(0, 1) : DIVA.samplers,
            sampleSteps,
            seed: config.seed,
            gate,
          }),
        ),
        snaps$.pipe(
          latentStraightness({
            model,
            trajectories: diskTrajectories(data, {
              count: small ? 2 : 8,
              frames: 8,
              seed: config.seed,
            }),
            size: S,
            gate,
          }),
        ),
      ).pipe(
        record(store),
        finalize(() => model.dispose()),
      );
    }),
  );
};
