import * as tf from '@tensorflow/tfjs';
import type { Schedule } from '../schedule.js';
import { createUnet, unetParamCount, unetShapes } from '../unet.js';
import type { UnetParams } from '../unet.js';
import { divaEncoderConfig, divaUnetConfig } from './config.js';
import type { DivaConfig } from './config.js';
import { createEncoder, encoderShapes } from './encoder.js';
import type { EncoderConfig } from './encoder.js';
import type { DivaNetworks } from './sampler.js';

/** Checkpoint names of the denoiser's weights start with this; the encoder's are its own. */
export const UNET_PREFIX = 'unet.';

/** Whether a checkpoint name is one of the denoiser's weights. */
export const isDenoiserWeight = (name: string): boolean => name.startsWith(UNET_PREFIX);

/** A DiVA's two networks as variables, and every weight under its checkpoint name. */
export interface DivaWeights {
  /** The denoiser ε_θ: the engine's UNet, run with a zero label input. */
  unet: UnetParams<tf.Variable>;
  /** The inference network fφ. */
  encoder: Record<string, tf.Variable>;
  encoderConfig: EncoderConfig;
  /** Checkpoint names in storage order: the UNet's (`unet.stem.w`, …), then the encoder's. */
  names: string[];
  /** Every weight by its checkpoint name. */
  params: Record<string, tf.Variable>;
  paramCount: number;
}

/**
 * The initial weights of both networks, seeded by `config.seed`.
 * @example const w = createDivaWeights(resolveDivaConfig({ size: 8 })); w.names[0] // 'unet.…'
 */
export function createDivaWeights(config: DivaConfig): DivaWeights {
  const unet = createUnet(divaUnetConfig(config), config.seed);
  const encoderConfig = divaEncoderConfig(config);
  const encoder = createEncoder(encoderConfig, config.seed);
  const names: string[] = [];
  const params: Record<string, tf.Variable> = {};
  for (const [n] of unetShapes(unet.config)) {
    names.push(UNET_PREFIX + n);
    params[UNET_PREFIX + n] = unet.weights[n];
  }
  for (const [n] of encoderShapes(encoderConfig)) {
    names.push(n);
    params[n] = encoder[n];
  }
  const encoderCount = encoderShapes(encoderConfig).reduce(
    (s, [, shape]) => s + shape.reduce((a, b) => a * b, 1),
    0,
  );
  return {
    unet,
    encoder,
    encoderConfig,
    names,
    params,
    paramCount: unetParamCount(unet.config) + encoderCount,
  };
}

/**
 * The networks with `weights` (by checkpoint name: a copy of the EMA, say) in place of the
 * live ones, as a `DivaSampler` takes them.
 */
export function divaNetworks(
  w: DivaWeights,
  weights: Record<string, tf.Tensor>,
  schedule: Schedule,
  guidanceWeight: number,
): DivaNetworks {
  const unet: Record<string, tf.Tensor> = {};
  const enc: Record<string, tf.Tensor> = {};
  for (const [n, t] of Object.entries(weights)) {
    if (isDenoiserWeight(n)) unet[n.slice(UNET_PREFIX.length)] = t;
    else enc[n] = t;
  }
  return {
    unet: { config: w.unet.config, weights: unet },
    encoder: enc,
    encoderConfig: w.encoderConfig,
    schedule,
    guidanceWeight,
  };
}
