import type * as tf from '@tensorflow/tfjs';
import { Gelu, type GeluInputs } from '../fused/kernel-names.js';
import { alloc, f32, nativeKernel, type NativeKernelArgs } from './shared.js';

/** Exact GELU in one pass. */
export function gelu({
  inputs: { x },
  backend,
  addon,
}: NativeKernelArgs<GeluInputs, unknown>): tf.TensorInfo | null {
  if (!x) return null;
  const xv = f32(backend, x);
  if (!xv) return null;
  const y = alloc(xv.length);
  addon.gelu(xv, y);
  return backend.makeTensorInfo([...x.shape], 'float32', y);
}

export const geluConfig = nativeKernel(Gelu, gelu);
