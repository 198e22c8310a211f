import * as tf from '@tensorflow/tfjs';
import { nativeKernel, poolForward, type NativeKernelArgs } from './shared.js';

/** NHWC average pooling (divides by the in-bounds count, as tfjs's cpu kernel does). */
export function avgPool(
  args: NativeKernelArgs<tf.AvgPoolInputs, tf.AvgPoolAttrs>,
): tf.TensorInfo | null {
  return poolForward(args, (x, out, geom) => args.addon.avgPool(x, out, geom));
}

export const avgPoolConfig = nativeKernel(tf.AvgPool, avgPool);
