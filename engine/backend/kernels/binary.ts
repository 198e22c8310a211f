import * as tf from '@tensorflow/tfjs';
import { opCode, type BinaryOpName } from '../native/op-codes.js';
import {
  alloc,
  f32,
  nativeKernel,
  sizeOf,
  type NativeKernelArgs,
  type NativeKernelConfig,
} from './shared.js';

/**
 * The config of an elementwise binary kernel with numpy broadcasting, run by the addon's
 * `binary` entry under the op's code (as tfjs-backend-cpu builds its binaryKernelFunc).
 */
export function binaryKernel(name: BinaryOpName): NativeKernelConfig {
  const op = opCode('binary', name);
  return nativeKernel(
    name,
    ({
      inputs: { a, b },
      backend,
      addon,
    }: NativeKernelArgs<tf.BinaryInputs, unknown>): tf.TensorInfo | null => {
      if (!a || !b) return null;
      const av = f32(backend, a);
      const bv = f32(backend, b);
      if (!av || !bv || a.shape.length > 8 || b.shape.length > 8) return null;
      const shape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const out = alloc(sizeOf(shape));
      addon.binary(
        op,
        av,
        Int32Array.from(a.shape),
        bv,
        Int32Array.from(b.shape),
        out,
        Int32Array.from(shape),
      );
      return backend.makeTensorInfo(shape, 'float32', out);
    },
  );
}
