import type * as tf from '@tensorflow/tfjs';
import { Attention, type AttentionAttrs, type AttentionInputs } from '../fused/kernel-names.js';
import { alloc, attentionDims, f32, nativeKernel, type NativeKernelArgs } from './shared.js';

/**
 * Fused multi-head attention (native/attention.cc): blocks of 48 queries × 128 keys with an
 * online softmax, so no [n, n] score matrix is ever stored; outputs o and lse.
 */
export function attention({
  inputs: { q, k, v },
  attrs: { heads },
  backend,
  addon,
}: NativeKernelArgs<AttentionInputs, AttentionAttrs>): tf.TensorInfo[] | null {
  if (!q || !k || !v) return null;
  const dims = attentionDims(q.shape, heads);
  const [qv, kv, vv] = [q, k, v].map((t) => f32(backend, t));
  if (!dims || !qv || !kv || !vv) return null;
  const [b, n, h] = dims;
  const o = alloc(qv.length);
  const lse = new Float32Array(b * h * n);
  addon.attention(qv, kv, vv, o, lse, dims);
  return [
    backend.makeTensorInfo([...q.shape], 'float32', o),
    backend.makeTensorInfo([b, h, n], 'float32', lse),
  ];
}

export const attentionConfig = nativeKernel(Attention, attention);
