import type * as tf from '@tensorflow/tfjs';
import { GeluGrad, type GeluGradInputs } from '../fused/kernel-names.js';
import { alloc, f32, nativeKernel, type NativeKernelArgs } from './shared.js';

/** GELU's gradient in one pass. */
export function geluGrad({
  inputs: { dy, x },
  backend,
  addon,
}: NativeKernelArgs<GeluGradInputs, unknown>): tf.TensorInfo | null {
  if (!dy || !x) return null;
  const dyv = f32(backend, dy);
  const xv = f32(backend, x);
  if (!dyv || !xv) return null;
  const dx = alloc(xv.length);
  addon.geluGrad(dyv, xv, dx);
  return backend.makeTensorInfo([...x.shape], 'float32', dx);
}

export const geluGradConfig = nativeKernel(GeluGrad, geluGrad);
