import type * as tf from '@tensorflow/tfjs';
import {
  GroupNormGrad,
  type GroupNormGradAttrs,
  type GroupNormGradInputs,
} from '../fused/kernel-names.js';
import { alloc, f32, groupNormDims, nativeKernel, type NativeKernelArgs } from './shared.js';

/** The fused GroupNorm's gradient (through the GELU after it, if any): outputs dx, dgamma, dbeta. */
export function groupNormGrad({
  inputs: { dy, x, gamma, beta, mean, rstd },
  attrs: { groups, activation },
  backend,
  addon,
}: NativeKernelArgs<GroupNormGradInputs, GroupNormGradAttrs>): tf.TensorInfo[] | null {
  if (!dy || !x || !gamma || !mean || !rstd || x.shape.length !== 4) return null;
  if (activation === 'gelu' && !beta) return null;
  const values = [dy, x, gamma, beta ?? gamma, mean, rstd].map((t) => f32(backend, t));
  const [dyv, xv, gv, bv, mv, rv] = values;
  if (!dyv || !xv || !gv || !bv || !mv || !rv) return null;
  const [b, h, w, c] = x.shape;
  const dx = alloc(xv.length);
  const dgamma = new Float32Array(c);
  const dbeta = new Float32Array(c);
  addon.groupNormGrad(
    dyv,
    xv,
    gv,
    bv,
    mv,
    rv,
    dx,
    dgamma,
    dbeta,
    groupNormDims(b, h * w, c, groups, activation),
  );
  return [
    backend.makeTensorInfo([...x.shape], 'float32', dx),
    backend.makeTensorInfo([...gamma.shape], 'float32', dgamma),
    backend.makeTensorInfo([...gamma.shape], 'float32', dbeta),
  ];
}

export const groupNormGradConfig = nativeKernel(GroupNormGrad, groupNormGrad);
