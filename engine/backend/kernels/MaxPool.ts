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

/** NHWC max pooling (cells outside the image are skipped, as tfjs's cpu kernel does). */
export function maxPool({
  inputs: { x },
  attrs,
  backend,
  addon,
}: NativeKernelArgs<tf.MaxPoolInputs, tf.MaxPoolAttrs>): tf.TensorInfo | null {
  if (!x) return null;
  const xv = f32(backend, x);
  const info = poolInfo(x.shape, attrs);
  const g = info && poolGeom(info);
  if (!xv || !info || !g) return null;
  const out = alloc(sizeOf(info.outShape));
  addon.maxPool(xv, out, g);
  return backend.makeTensorInfo(info.outShape, 'float32', out);
}

export const maxPoolConfig = nativeKernel(tf.MaxPool, maxPool);
