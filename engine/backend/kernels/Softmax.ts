import * as tf from '@tensorflow/tfjs';
import { alloc, f32, nativeKernel, sizeOf, type NativeKernelArgs } from './shared.js';

/** Softmax over the last axis (the only one tfjs's Softmax op takes). */
export function softmax({
  inputs: { logits },
  attrs: { dim },
  backend,
  addon,
}: NativeKernelArgs<tf.SoftmaxInputs, tf.SoftmaxAttrs>): tf.TensorInfo | null {
  if (!logits || logits.shape.length === 0) return null;
  const rank = logits.shape.length;
  if (dim !== -1 && dim !== rank - 1) return null;
  const x = f32(backend, logits);
  const cols = logits.shape[rank - 1];
  if (!x || cols === 0) return null;
  const out = alloc(x.length);
  addon.softmax(x, out, Int32Array.from([sizeOf(logits.shape) / cols, cols]));
  return backend.makeTensorInfo([...logits.shape], 'float32', out);
}

export const softmaxConfig = nativeKernel(tf.Softmax, softmax);
