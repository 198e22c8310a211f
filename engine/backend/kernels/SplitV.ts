import * as tf from '@tensorflow/tfjs';
import { f32, nativeKernel, type NativeKernelArgs } from './shared.js';
import { sliceInto } from './slice-into.js';

/** Splits x along one axis into parts of the given sizes (or into equal parts). */
export function splitV({
  inputs: { x },
  attrs,
  backend,
  addon,
}: NativeKernelArgs<tf.SplitVInputs, tf.SplitVAttrs>): tf.TensorInfo[] | null {
  if (!x) return null;
  const xv = f32(backend, x);
  if (!xv || x.shape.length > 8) return null;
  const axis = tf.util.parseAxisParam(attrs.axis, [...x.shape])[0];
  const splits = tf.backend_util.prepareSplitSize(x, attrs.numOrSizeSplits, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return splits.map((s) => {
    const size = [...x.shape];
    size[axis] = s;
    const t = sliceInto(addon, backend, xv, x.shape, [...begin], size);
    begin[axis] += s;
    return t;
  });
}

export const splitVConfig = nativeKernel(tf.SplitV, splitV);
