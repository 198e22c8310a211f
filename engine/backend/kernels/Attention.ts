import type * as tf from '@tensorflow/tfjs';
import { Attention, type AttentionAttrs, type AttentionInputs } from '../fused/kernel-names.js';
import { alloc, attentionDims, f32, nativeKernel, type NativeKernelArgs } from './shared.js';

/**
 * Fused multi-head attention (native/attention.cc): blocks of 48 queries × 128 keys with an
 * online softmax, so no [n, n] score matrix is ever stored; outputs o and lse.
 */
export function attention({
  inputs: { qkv },
  attrs: { heads },
  backend,
  addon,
}: NativeKernelArgs<AttentionInputs, AttentionAttrs>): tf.TensorInfo[] | null {
  if (!qkv) return null;
  const dims = attentionDims(qkv.shape, heads);
  const x = f32(backend, qkv);
  if (!dims || !x) return null;
  const [b, n, h, d] = dims;
  const o = alloc(b * n * h * d);
  const lse = new Float32Array(b * h * n);
  addon.attention(x, o, lse, dims);
  return [
    backend.makeTensorInfo([b, n, h * d], 'float32', o),
    backend.makeTensorInfo([b, h, n], 'float32', lse),
  ];
}

export const attentionConfig = nativeKernel(Attention, attention);
