import type * as tf from '@tensorflow/tfjs';
import {
  GroupNormGrad,
  type GroupNormGradAttrs,
  type GroupNormGradInputs,
} from '../fused/kernel-names.js';
import { alloc, f32, nativeKernel, type NativeKernelArgs } from './shared.js';

/** The fused GroupNorm's gradient in one pass: outputs dx, dgamma, dbeta. */
export function groupNormGrad({
  inputs: { dy, x, gamma, mean, rstd },
  attrs: { groups },
  backend,
  addon,
}: NativeKernelArgs<GroupNormGradInputs, GroupNormGradAttrs>): tf.TensorInfo[] | null {
  if (!dy || !x || !gamma || !mean || !rstd || x.shape.length !== 4) return null;
  const values = [dy, x, gamma, mean, rstd].map((t) => f32(backend, t));
  const [dyv, xv, gv, mv, rv] = values;
  if (!dyv || !xv || !gv || !mv || !rv) return null;
  const [b, h, w, c] = x.shape;
  const dx = alloc(xv.length);
  const dgamma = new Float32Array(c);
  const dbeta = new Float32Array(c);
  addon.groupNormGrad(
    dyv,
    xv,
    gv,
    mv,
    rv,
    dx,
    dgamma,
    dbeta,
    Int32Array.from([b, h * w, c, groups]),
  );
  return [
    backend.makeTensorInfo([...x.shape], 'float32', dx),
    backend.makeTensorInfo([...gamma.shape], 'float32', dgamma),
    backend.makeTensorInfo([...gamma.shape], 'float32', dbeta),
  ];
}

export const groupNormGradConfig = nativeKernel(GroupNormGrad, groupNormGrad);
