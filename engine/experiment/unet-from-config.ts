import { unetDdpm, type UnetDdpm } from '../models/unet-ddpm.js';
import { unetSettings, type ExperimentConfig } from './config.js';

/** What the UNet DDPM needs of the experiment's config. */
export type UnetSettings = Pick<
  ExperimentConfig,
  | 'size'
  | 'widths'
  | 'attention'
  | 'attentionAt'
  | 'condHidden'
  | 'posEncoding'
  | 'timesteps'
  | 'lr'
  | 'emaDecay'
  | 'seed'
  | 'groups'
  | 'pool'
  | 'upsample'
  | 'bottleneck'
  | 'init'
  | 'condLayers'
  | 'stem'
  | 'upMid'
>;

/**
 * The UNet DDPM an experiment's config describes (the default experiment's model).
 * @example const model = unetFromConfig(resolveConfig({ size: 16 }));
 */
export function unetFromConfig(config: UnetSettings): UnetDdpm {
  return unetDdpm({
    size: config.size,
    widths: config.widths as [number, number, number],
    attention: config.attention,
    attentionAt: config.attentionAt,
    condHidden: config.condHidden,
    posEncoding: config.posEncoding,
    ...unetSettings(config),
    T: config.timesteps,
    lr: config.lr,
    emaDecay: config.emaDecay,
    seed: config.seed,
  });
}
