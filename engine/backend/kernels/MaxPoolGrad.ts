import * as tf from '@tensorflow/tfjs';
import {
  alloc,
  f32,
  nativeKernel,
  poolGeom,
  poolInfo,
  sizeOf,
  type NativeKernelArgs,
} from './shared.js';

/**
 * The gradient of max pooling: each window's dy goes to its first maximal input in row-major
 * order (as tfjs's cpu kernel and PyTorch break ties).
 */
export function maxPoolGrad({
  inputs: { dy, input },
  attrs,
  backend,
  addon,
}: NativeKernelArgs<tf.MaxPoolGradInputs, tf.MaxPoolGradAttrs>): tf.TensorInfo | null {
  if (!dy || !input) return null;
  const dyv = f32(backend, dy);
  const xv = f32(backend, input);
  const info = poolInfo(input.shape, attrs);
  const g = info && poolGeom(info);
  if (!dyv || !xv || !info || !g) return null;
  const out = alloc(sizeOf(input.shape));
  addon.maxPoolGrad(dyv, xv, out, g);
  return backend.makeTensorInfo([...input.shape], 'float32', out);
}

export const maxPoolGradConfig = nativeKernel(tf.MaxPoolGrad, maxPoolGrad);
