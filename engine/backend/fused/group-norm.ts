import * as tf from '@tensorflow/tfjs';
import {
  GroupNorm,
  type GroupNormActivation,
  type GroupNormAttrs,
  type GroupNormInputs,
} from './kernel-names.js';
import { ensureFusedKernels } from './kernels.js';

/**
 * GroupNorm of NHWC `x` with `groups` groups (which must divide the channels), then
 * `· gamma + beta` per channel; biased variance, like `tf.moments`. One kernel forward and
 * one backward on every backend.
 * @example const y = groupNorm(x, gamma, beta, 8); // x [B,H,W,32], gamma/beta [32]
 */
export function groupNorm(
  x: tf.Tensor4D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  groups: number,
  eps = 1e-5,
): tf.Tensor4D {
  return groupNormKernel(x, gamma, beta, groups, eps, 'none');
}

/**
 * GELU(groupNorm(x, gamma, beta, groups)) as one kernel forward and one backward: the
 * normalised values are never stored, and the GELU's gradient is taken inside GroupNorm's.
 * @example const h = groupNormGelu(conv, gamma, beta, 8);
 */
export function groupNormGelu(
  x: tf.Tensor4D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  groups: number,
  eps = 1e-5,
): tf.Tensor4D {
  return groupNormKernel(x, gamma, beta, groups, eps, 'gelu');
}

function groupNormKernel(
  x: tf.Tensor4D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  groups: number,
  eps: number,
  activation: GroupNormActivation,
): tf.Tensor4D {
  const c = x.shape[3];
  if (x.rank !== 4) throw new Error(`groupNorm: x must be NHWC, rank 4 (got rank ${x.rank})`);
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) {
    throw new Error(`groupNorm: groups must divide the ${c} channels (got ${groups})`);
  }
  for (const [name, t] of [
    ['gamma', gamma],
    ['beta', beta],
  ] as const) {
    if (t.size !== c) {
      throw new Error(`groupNorm: ${name} must hold one value per channel, ${c} (got ${t.size})`);
    }
  }
  for (const [name, t] of [
    ['x', x],
    ['gamma', gamma],
    ['beta', beta],
  ] as const) {
    if (t.dtype !== 'float32') {
      throw new Error(`groupNorm: ${name} must be float32 (got ${t.dtype})`);
    }
  }
  ensureFusedKernels(tf.getBackend());
  const inputs: GroupNormInputs = { x, gamma: gamma.reshape([c]), beta: beta.reshape([c]) };
  const attrs: GroupNormAttrs = { groups, eps, activation };
  const [y, mean, rstd] = tf
    .engine()
    .runKernel<tf.Tensor[]>(
      GroupNorm,
      inputs as unknown as tf.NamedTensorMap,
      attrs as unknown as tf.NamedAttrMap,
    );
  tf.dispose([mean, rstd, inputs.gamma as tf.Tensor, inputs.beta as tf.Tensor]);
  return y as tf.Tensor4D;
}
