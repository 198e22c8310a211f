import type * as tf from '@tensorflow/tfjs';

/**
 * phasewatch's fused kernels: named tfjs kernels with registered gradients, implemented in C++
 * on 'native' and in plain TypeScript on every other backend (engine/backend/fused/), so a
 * model calls one op everywhere.
 */

/**
 * GroupNorm of NHWC x, then `· gamma + beta` per channel, then with activation 'gelu' the GELU
 * of that (one pass instead of two ops); outputs [y, mean, rstd].
 */
export const GroupNorm = 'PhasewatchGroupNorm';
export type GroupNormInputs = Pick<tf.NamedTensorInfoMap, 'x' | 'gamma' | 'beta'>;
export type GroupNormActivation = 'none' | 'gelu';
export interface GroupNormAttrs {
  groups: number;
  eps: number;
  activation?: GroupNormActivation;
}

/** GroupNorm's gradient; outputs [dx, dgamma, dbeta]. beta is read only after a GELU. */
export const GroupNormGrad = 'PhasewatchGroupNormGrad';
export type GroupNormGradInputs = Pick<
  tf.NamedTensorInfoMap,
  'dy' | 'x' | 'gamma' | 'beta' | 'mean' | 'rstd'
>;
export interface GroupNormGradAttrs {
  groups: number;
  activation?: GroupNormActivation;
}

/** Exact GELU, x·Φ(x). */
export const Gelu = 'PhasewatchGelu';
export type GeluInputs = Pick<tf.NamedTensorInfoMap, 'x'>;

/** GELU's gradient: dy·(Φ(x) + x·φ(x)). */
export const GeluGrad = 'PhasewatchGeluGrad';
export type GeluGradInputs = Pick<tf.NamedTensorInfoMap, 'dy' | 'x'>;

/**
 * Multi-head attention softmax(q kᵀ / √d) v of q, k, v packed as qkv [b, n, 3·heads·d] (q's
 * channels, then k's, then v's; head h of each on channels h·d … h·d+d-1); outputs [o, lse]:
 * o [b, n, heads·d] and lse [b, heads, n], the log of each softmax row's normaliser, which the
 * gradient reuses instead of a stored score matrix.
 */
export const Attention = 'PhasewatchAttention';
export type AttentionInputs = Pick<tf.NamedTensorInfoMap, 'qkv'>;
export interface AttentionAttrs {
  heads: number;
}

/** Attention's gradient; outputs [dqkv] in qkv's layout. */
export const AttentionGrad = 'PhasewatchAttentionGrad';
export type AttentionGradInputs = Pick<tf.NamedTensorInfoMap, 'dy' | 'qkv' | 'o' | 'lse'>;
export type AttentionGradAttrs = AttentionAttrs;

/**
 * The UNet's double-convolution block: h1 = conv(x, w1) and h2 = conv(GELU(GN1(h1)), w2)
 * (stride 1, 'same'), then y = GELU(GN2(h2)) (+ bias [b, 1, 1, cout] when given), or with
 * `residual` y = GELU(x + GN2(h2)) (GN2 without GELU; x and y of one shape). Outputs
 * [y, h1, h2, mean1, rstd1, mean2, rstd2]: the gradient recomputes the activations from the
 * two pre-norm convolution outputs and the GroupNorms' [b, groups] statistics.
 */
export const ConvBlock = 'PhasewatchConvBlock';
export type ConvBlockInputs = Pick<
  tf.NamedTensorInfoMap,
  'x' | 'w1' | 'gamma1' | 'beta1' | 'w2' | 'gamma2' | 'beta2'
> &
  Partial<Pick<tf.NamedTensorInfoMap, 'bias'>>;
export interface ConvBlockAttrs {
  groups1: number;
  groups2: number;
  eps: number;
  residual: boolean;
  hasBias: boolean;
  /** False where x needs no gradient (a network's input): dx is then zeros, not computed. */
  inputGrad: boolean;
}

/** ConvBlock's gradient; outputs [dx, dw1, dgamma1, dbeta1, dw2, dgamma2, dbeta2(, dbias)]. */
export const ConvBlockGrad = 'PhasewatchConvBlockGrad';
export type ConvBlockGradInputs = Pick<
  tf.NamedTensorInfoMap,
  | 'dy'
  | 'x'
  | 'w1'
  | 'gamma1'
  | 'beta1'
  | 'w2'
  | 'gamma2'
  | 'beta2'
  | 'h1'
  | 'h2'
  | 'mean1'
  | 'rstd1'
  | 'mean2'
  | 'rstd2'
>;
export type ConvBlockGradAttrs = ConvBlockAttrs;
