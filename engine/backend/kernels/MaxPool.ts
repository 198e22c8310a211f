import * as tf from '@tensorflow/tfjs';
import { nativeKernel, poolForward, type NativeKernelArgs } from './shared.js';

/** NHWC max pooling (cells outside the image are skipped, as tfjs's cpu kernel does). */
export function maxPool(
  args: NativeKernelArgs<tf.MaxPoolInputs, tf.MaxPoolAttrs>,
): tf.TensorInfo | null {
  return poolForward(args, (x, out, geom) => args.addon.maxPool(x, out, geom));
}

export const maxPoolConfig = nativeKernel(tf.MaxPool, maxPool);
