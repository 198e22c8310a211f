import * as tf from '@tensorflow/tfjs';
import {
  alloc,
  convGeom,
  convInfo,
  f32,
  nativeKernel,
  sizeOf,
  type NativeKernelArgs,
} from './shared.js';

/** NHWC 2-D convolution, any stride, padding and dilation. */
export function conv2D({
  inputs: { x, filter },
  attrs,
  backend,
  addon,
}: NativeKernelArgs<tf.Conv2DInputs, tf.Conv2DAttrs>): tf.TensorInfo | null {
  if (!x || !filter) return null;
  const info = convInfo(x.shape, filter.shape, attrs, attrs.dilations ?? 1);
  const xv = f32(backend, x);
  const fv = f32(backend, filter);
  if (!info || !xv || !fv) return null;
  const out = alloc(sizeOf(info.outShape));
  addon.conv2d(xv, fv, out, convGeom(info));
  return backend.makeTensorInfo(info.outShape, 'float32', out);
}

export const conv2DConfig = nativeKernel(tf.Conv2D, conv2D);
