import * as tf from '@tensorflow/tfjs';
import { alloc, f32, nativeKernel, sizeOf, type NativeKernelArgs } from './shared.js';

/** Concatenation along one axis, as one pass of row copies. */
export function concat({
  inputs,
  attrs,
  backend,
  addon,
}: NativeKernelArgs<tf.ConcatInputs, tf.ConcatAttrs>): tf.TensorInfo | null {
  // tfjs hands the tensor list over as an object keyed by position.
  const list = Object.values(inputs);
  if (list.length === 0) return null;
  const axis = tf.util.parseAxisParam(attrs.axis, [...list[0].shape])[0];
  const values: Float32Array[] = [];
  for (const t of list) {
    const v = f32(backend, t);
    if (!v) return null;
    values.push(v);
  }
  const shape = tf.backend_util.computeOutShape(
    list.map((t) => [...t.shape]),
    axis,
  );
  const outer = sizeOf(shape.slice(0, axis));
  const widths = list.map((t) => sizeOf(t.shape.slice(axis)));
  const out = alloc(sizeOf(shape));
  addon.concat(values, widths, outer, out);
  return backend.makeTensorInfo(shape, 'float32', out);
}

export const concatConfig = nativeKernel(tf.Concat, concat);
