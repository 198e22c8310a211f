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
