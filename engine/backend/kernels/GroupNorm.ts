import type * as tf from '@tensorflow/tfjs';
import { GroupNorm, type GroupNormAttrs, type GroupNormInputs } from '../fused/kernel-names.js';
import { alloc, f32, groupNormDims, nativeKernel, type NativeKernelArgs } from './shared.js';

/**
 * The fused GroupNorm (and GELU after it, with that activation) in one pass over memory:
 * outputs y and the [b, groups] mean and rstd.
 */
export function groupNorm({
  inputs: { x, gamma, beta },
  attrs: { groups, eps, activation },
  backend,
  addon,
}: NativeKernelArgs<GroupNormInputs, GroupNormAttrs>): tf.TensorInfo[] | null {
  if (!x || !gamma || !beta || x.shape.length !== 4) return null;
  const xv = f32(backend, x);
  const gv = f32(backend, gamma);
  const bv = f32(backend, beta);
  if (!xv || !gv || !bv) return null;
  const [b, h, w, c] = x.shape;
  const mean = new Float32Array(b * groups);
  const rstd = new Float32Array(b * groups);
  const y = alloc(xv.length);
  addon.groupNorm(xv, gv, bv, y, mean, rstd, groupNormDims(b, h * w, c, groups, activation), eps);
  return [
    backend.makeTensorInfo([...x.shape], 'float32', y),
    backend.makeTensorInfo([b, groups], 'float32', mean),
    backend.makeTensorInfo([b, groups], 'float32', rstd),
  ];
}

export const groupNormConfig = nativeKernel(GroupNorm, groupNorm);
