import * as tf from '@tensorflow/tfjs';
import { f32, nativeKernel, type NativeKernelArgs } from './shared.js';
import { sliceInto } from './slice-into.js';

/** x[begin : begin + size] for ranks 1 to 8. */
export function slice({
  inputs: { x },
  attrs,
  backend,
  addon,
}: NativeKernelArgs<tf.SliceInputs, tf.SliceAttrs>): tf.TensorInfo | null {
  if (!x) return null;
  const xv = f32(backend, x);
  if (!xv || x.shape.length > 8 || x.shape.length === 0) return null;
  const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size);
  tf.slice_util.assertParamsValid(x, begin, size);
  return sliceInto(addon, backend, xv, x.shape, begin, size);
}

export const sliceConfig = nativeKernel(tf.Slice, slice);
