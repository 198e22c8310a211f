import type * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from '../native/addon.js';
import { alloc, sizeOf, type CpuBackend } from './shared.js';

/** A new tensor holding x[begin : begin + size] (per axis); shared by Slice and SplitV. */
export function sliceInto(
  addon: NativeAddon,
  backend: CpuBackend,
  xv: Float32Array,
  xShape: readonly number[],
  begin: number[],
  size: number[],
): tf.TensorInfo {
  const out = alloc(sizeOf(size));
  addon.slice(xv, Int32Array.from(xShape), Int32Array.from(begin), Int32Array.from(size), out);
  return backend.makeTensorInfo(size, 'float32', out);
}
