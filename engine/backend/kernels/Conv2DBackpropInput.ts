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

/** The input gradient of an undilated NHWC 2-D convolution. */
export function conv2DBackpropInput({
  inputs: { dy, filter },
  attrs,
  backend,
  addon,
}: NativeKernelArgs<
  tf.Conv2DBackpropInputInputs,
  tf.Conv2DBackpropInputAttrs
>): tf.TensorInfo | null {
  if (!dy || !filter) return null;
  const { inputShape } = attrs;
  const info = convInfo(inputShape, filter.shape, attrs, 1);
  const dyv = f32(backend, dy);
  const fv = f32(backend, filter);
  if (!info || !dyv || !fv) return null;
  const out = alloc(sizeOf(inputShape));
  addon.conv2dBackpropInput(dyv, fv, out, convGeom(info));
  return backend.makeTensorInfo([...inputShape], 'float32', out);
}

export const conv2DBackpropInputConfig = nativeKernel(tf.Conv2DBackpropInput, conv2DBackpropInput);
