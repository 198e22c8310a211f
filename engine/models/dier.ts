import { MlpDenoiser } from './mlp-denoiser.js';
import type { MlpDenoiserConfig } from './mlp-denoiser.js';

export type DierConfig = Partial<MlpDenoiserConfig> & { dim: number };

/**
 * DiER (seed 003) for vector data — flattened images included: a timestep-dependent encoder
 * v_t = E(x0, t) of the clean example, trained jointly with a denoiser of x_t that it
 * conditions, by the ε-prediction loss alone (a multi-level denoising autoencoder). Here the
 * denoiser is the 3-layer MLP (`MlpDenoiser`) and v_t enters both its hidden layers additively
 * (the seed uses a DiT with adaLN). The encoder's code is the `encoder` activation of
 * `features(examples, t)`, so `timestepProbes({ layer: 'encoder' })` probes it at each t.
 * Defaults: code width 16, encoder hidden width 128.
 *
 * @example const m = dier({ dim: 256, hidden: 256 }); // bumps of side 16, flattened
 */
export function dier(config: DierConfig): MlpDenoiser {
  return new MlpDenoiser({ encoderDim: 16, encoderHidden: 128, ...config });
}
