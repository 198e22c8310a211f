import { resolveUnetConfig } from '../unet.js';
import type { UnetConfig } from '../unet.js';
import type { ScheduleKind } from '../schedule.js';
import type { EncoderConfig } from './encoder.js';

/** Everything that defines a DiVA (seed 001): denoiser, inference network, loss, optimiser. */
export interface DivaConfig {
  /** Image side in pixels; a multiple of 8 (the UNet pools three times). */
  size: number;
  /** The denoiser UNet's channel widths (it runs unconditionally: its label input is zero). */
  widths: [number, number, number];
  groups: number;
  encDim: number;
  condHidden: number;
  /** Diffusion steps. */
  T: number;
  schedule: ScheduleKind;
  /** Channels of the inference network's two 3×3 stride-2 convolutions. */
  encoderChannels: [number, number];
  /** Dimension of the latent z. */
  latentDim: number;
  /** Smallest posterior standard deviation. */
  sigmaFloor: number;
  /**
   * Tell the inference network the noise level √(1−ᾱ_t) of the image it encodes (a constant
   * second input channel; 0 for clean images). The seed's is blind to it (false).
   */
  encoderNoiseLevel: boolean;
  /** Weight of the KL term (β of β-DiVA, seed Eq. 10), per example and pixel (see `lossTerms`). */
  beta: number;
  /**
   * Steps over which the KL weight is annealed exponentially from β·1e-4 up to β (the seed
   * anneals it "from a number many orders of magnitude smaller"); 0 uses β from the start.
   */
  klWarmup: number;
  /** Weight w of the guidance score: ε_θφ = ε_θ − w·√(1−ᾱ_t)·g. 1 is the seed; 0 is a plain DDPM. */
  guidanceWeight: number;
  /** Train only the inference network on top of a fixed (pre-trained) denoiser (seed §3, CelebA-HQ). */
  freezeDenoiser: boolean;
  /**
   * Steps of plain DDPM training first (the denoiser alone, guidance weight 0, no KL); DiVA
   * training (Algorithm 2) starts after them. With `freezeDenoiser` this is the seed's frozen
   * variant in one run: a denoiser trained, then only the inference network. 0: none.
   */
  pretrainSteps: number;
  /** Adam learning rate. */
  lr: number;
  /**
   * The inference network's own Adam learning rate (null: `lr`). The encoder needs a large
   * one to leave the harmless state its first steps put it in, the denoiser a smaller one.
   */
  encoderLr: number | null;
  /** Decay of the exponential moving average of the weights used for sampling and probes. */
  emaDecay: number;
  /** Seeds the initial weights and the training draws. */
  seed: number;
}

export const DEFAULT_DIVA_CONFIG: DivaConfig = {
  size: 16,
  widths: [16, 32, 32],
  groups: 8,
  encDim: 16,
  condHidden: 32,
  T: 100,
  schedule: 'linear',
  encoderChannels: [16, 16],
  latentDim: 3,
  sigmaFloor: 1e-3,
  encoderNoiseLevel: false,
  beta: 1e-3,
  klWarmup: 0,
  guidanceWeight: 1,
  freezeDenoiser: false,
  pretrainSteps: 0,
  lr: 2e-3,
  encoderLr: null,
  emaDecay: 0.99,
  seed: 0,
};

/**
 * Completes and validates a DiVA config; throws a one-line error naming the bad field.
 * @example resolveDivaConfig({ latentDim: 4 }).beta // 1
 */
export function resolveDivaConfig(partial: Partial<DivaConfig> = {}): DivaConfig {
  const c: DivaConfig = { ...DEFAULT_DIVA_CONFIG, ...partial };
  const unet = resolveUnetConfig({ ...c, attention: false });
  const posInt = (v: unknown, max: number): boolean =>
    Number.isInteger(v) && (v as number) > 0 && (v as number) <= max;
  if (
    !Array.isArray(c.encoderChannels) ||
    c.encoderChannels.length !== 2 ||
    !c.encoderChannels.every((v) => posInt(v, 1024))
  ) {
    throw new Error(
      `diva.encoderChannels must be 2 integers in [1, 1024] (got ${JSON.stringify(c.encoderChannels)})`,
    );
  }
  if (!posInt(c.latentDim, 1024)) {
    throw new Error(`diva.latentDim must be an integer in [1, 1024] (got ${String(c.latentDim)})`);
  }
  if (!(typeof c.sigmaFloor === 'number' && c.sigmaFloor > 0 && c.sigmaFloor <= 1)) {
    throw new Error(`diva.sigmaFloor must be a number in (0, 1] (got ${String(c.sigmaFloor)})`);
  }
  if (!(typeof c.beta === 'number' && c.beta >= 0 && Number.isFinite(c.beta))) {
    throw new Error(`diva.beta must be a finite number >= 0 (got ${String(c.beta)})`);
  }
  if (!Number.isInteger(c.klWarmup) || c.klWarmup < 0) {
    throw new Error(
      `diva.klWarmup must be a non-negative integer of steps (got ${String(c.klWarmup)})`,
    );
  }
  if (!(typeof c.guidanceWeight === 'number' && c.guidanceWeight >= 0 && c.guidanceWeight <= 10)) {
    throw new Error(
      `diva.guidanceWeight must be a number in [0, 10] (got ${String(c.guidanceWeight)})`,
    );
  }
  if (typeof c.encoderNoiseLevel !== 'boolean') {
    throw new Error(
      `diva.encoderNoiseLevel must be true or false (got ${String(c.encoderNoiseLevel)})`,
    );
  }
  if (!Number.isInteger(c.pretrainSteps) || c.pretrainSteps < 0) {
    throw new Error(
      `diva.pretrainSteps must be a non-negative integer of steps (got ${String(c.pretrainSteps)})`,
    );
  }
  if (typeof c.freezeDenoiser !== 'boolean') {
    throw new Error(`diva.freezeDenoiser must be true or false (got ${String(c.freezeDenoiser)})`);
  }
  if (c.schedule !== 'cosine' && c.schedule !== 'linear') {
    throw new Error(`diva.schedule must be one of cosine, linear (got "${String(c.schedule)}")`);
  }
  if (!(typeof c.lr === 'number' && c.lr > 0 && c.lr <= 1)) {
    throw new Error(`diva.lr must be a number in (0, 1] (got ${String(c.lr)})`);
  }
  if (
    c.encoderLr !== null &&
    !(typeof c.encoderLr === 'number' && c.encoderLr > 0 && c.encoderLr <= 1)
  ) {
    throw new Error(
      `diva.encoderLr must be null or a number in (0, 1] (got ${String(c.encoderLr)})`,
    );
  }
  if (!(typeof c.emaDecay === 'number' && c.emaDecay >= 0 && c.emaDecay < 1)) {
    throw new Error(`diva.emaDecay must be a number in [0, 1) (got ${String(c.emaDecay)})`);
  }
  if (!Number.isInteger(c.seed))
    throw new Error(`diva.seed must be an integer (got ${String(c.seed)})`);
  return {
    ...c,
    size: unet.size,
    widths: unet.widths,
    groups: unet.groups,
    encDim: unet.encDim,
    condHidden: unet.condHidden,
    T: unet.T,
    encoderChannels: [...c.encoderChannels] as [number, number],
  };
}

/** The denoiser's UNet config: the engine's UNet, unconditional (no attention, zero labels). */
export function divaUnetConfig(c: DivaConfig): UnetConfig {
  return {
    size: c.size,
    widths: c.widths,
    groups: c.groups,
    attention: false,
    encDim: c.encDim,
    condHidden: c.condHidden,
    T: c.T,
  };
}

/** The inference network's config. */
export function divaEncoderConfig(c: DivaConfig): EncoderConfig {
  return {
    size: c.size,
    channels: c.encoderChannels,
    latentDim: c.latentDim,
    sigmaFloor: c.sigmaFloor,
    noiseInput: c.encoderNoiseLevel,
  };
}

/** What fixes the networks' shapes: two configs with the same key share checkpoints. */
export function divaShapeKey(c: DivaConfig): string {
  return JSON.stringify([
    c.size,
    c.widths,
    c.encDim,
    c.condHidden,
    c.T,
    c.encoderChannels,
    c.latentDim,
    c.encoderNoiseLevel,
  ]);
}
