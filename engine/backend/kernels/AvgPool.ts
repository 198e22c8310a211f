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

/** NHWC average pooling (divides by the in-bounds count, as tfjs's cpu kernel does). */
export function avgPool({
  inputs: { x },
  attrs,
  backend,
  addon,
}: NativeKernelArgs<tf.AvgPoolInputs, tf.AvgPoolAttrs>): tf.TensorInfo | null {
  if (!x) return null;
  const xv = f32(backend, x);
  const info = poolInfo(x.shape, attrs);
  const g = info && poolGeom(info);
  if (!xv || !info || !g) return null;
  const out = alloc(sizeOf(info.outShape));
  addon.avgPool(xv, out, g);
  return backend.makeTensorInfo(info.outShape, 'float32', out);
}

export const avgPoolConfig = nativeKernel(tf.AvgPool, avgPool);
