import type * as tf from '@tensorflow/tfjs';
import { opCode, type UnaryOpName } from '../native/op-codes.js';
import {
  alloc,
  f32,
  nativeKernel,
  sizeOf,
  type NativeKernelArgs,
  type NativeKernelConfig,
} from './shared.js';

/**
 * The config of an elementwise unary kernel, run by the addon's `unary` entry under the op's
 * code; `params` gives the op's two scalar parameters from its attributes (ClipByValue's).
 */
export function unaryKernel<A = unknown>(
  name: UnaryOpName,
  params?: (attrs: A) => [number, number],
): NativeKernelConfig {
  const op = opCode('unary', name);
  return nativeKernel(
    name,
    ({ inputs: { x }, attrs, backend, addon }: NativeKernelArgs<tf.UnaryInputs, A>) => {
      if (!x) return null;
      const xv = f32(backend, x);
      if (!xv) return null;
      const out = alloc(sizeOf(x.shape));
      const [p0, p1] = params ? params(attrs) : [0, 0];
      addon.unary(op, xv, out, p0, p1);
      return backend.makeTensorInfo([...x.shape], 'float32', out);
    },
  );
}
