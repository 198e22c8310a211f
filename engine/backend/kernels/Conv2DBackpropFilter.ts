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

/** The filter gradient of an undilated NHWC 2-D convolution. */
export function conv2DBackpropFilter({
  inputs: { x, dy },
  attrs,
  backend,
  addon,
}: NativeKernelArgs<
  tf.Conv2DBackpropFilterInputs,
  tf.Conv2DBackpropFilterAttrs
>): tf.TensorInfo | null {
  if (!x || !dy) return null;
  const { filterShape } = attrs;
  const info = convInfo(x.shape, filterShape, attrs, 1);
  const xv = f32(backend, x);
  const dyv = f32(backend, dy);
  if (!info || !xv || !dyv) return null;
  const out = alloc(sizeOf(filterShape));
  addon.conv2dBackpropFilter(xv, dyv, out, convGeom(info));
  return backend.makeTensorInfo([...filterShape], 'float32', out);
}

export const conv2DBackpropFilterConfig = nativeKernel(
  tf.Conv2DBackpropFilter,
  conv2DBackpropFilter,
);
