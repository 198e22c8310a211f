import * as tf from '@tensorflow/tfjs';
import { opCode, type ReduceOpName } from '../native/op-codes.js';
import {
  alloc,
  f32,
  nativeKernel,
  sizeOf,
  type NativeKernelArgs,
  type NativeKernelConfig,
} from './shared.js';

/**
 * The config of a reduction over any set of axes, run by the addon's `reduce` entry under
 * the op's code; `axes` reads the reduced axes from the op's attributes (Max calls them
 * reductionIndices, the others axis).
 */
export function reduceKernel<A extends { keepDims: boolean }>(
  name: ReduceOpName,
  axes: (attrs: A) => number | number[],
): NativeKernelConfig {
  const op = opCode('reduce', name);
  return nativeKernel(
    name,
    ({ inputs: { x }, attrs, backend, addon }: NativeKernelArgs<tf.UnaryInputs, A>) => {
      if (!x) return null;
      const xv = f32(backend, x);
      if (!xv || x.shape.length > 8) return null;
      const mask = new Int32Array(x.shape.length);
      for (const ax of tf.util.parseAxisParam(axes(attrs), [...x.shape])) mask[ax] = 1;
      const shape: number[] = [];
      x.shape.forEach((d, i) => {
        if (!mask[i]) shape.push(d);
        else if (attrs.keepDims === true) shape.push(1);
      });
      const out = alloc(sizeOf(shape));
      addon.reduce(op, xv, Int32Array.from(x.shape), mask, out);
      return backend.makeTensorInfo(shape, 'float32', out);
    },
  );
}
