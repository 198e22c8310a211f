import * as tf from '@tensorflow/tfjs';
import { Attention, type AttentionAttrs, type AttentionInputs } from './kernel-names.js';
import { ensureFusedKernels } from './kernels.js';

/**
 * Multi-head attention softmax(q kᵀ / √d) v as one kernel forward and one backward, on every
 * backend: q, k, v are [b, n, heads·d] (head h on channels h·d … h·d+d-1) and so is the
 * result. No [n, n] score matrix is kept: the gradient recomputes scores from q and k and each
 * row's saved normaliser (on 'native', tile by tile: native/attention.cc).
 * @example const o = attention(q, k, v, 4); // q, k, v [64, 1024, 32]: 4 heads of 8
 */
export function attention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, heads = 1): tf.Tensor3D {
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    if (t.rank !== 3)
      throw new Error(`attention: ${name} must be [b, n, channels] (got rank ${t.rank})`);
    if (t.dtype !== 'float32')
      throw new Error(`attention: ${name} must be float32 (got ${t.dtype})`);
    if (t.shape.join() !== q.shape.join()) {
      throw new Error(
        `attention: ${name} must have q's shape [${q.shape.join(', ')}] (got [${t.shape.join(', ')}])`,
      );
    }
  }
  const c = q.shape[2];
  if (!Number.isInteger(heads) || heads < 1 || c % heads !== 0) {
    throw new Error(
      `attention: heads must be a positive integer dividing ${c} channels (got ${String(heads)})`,
    );
  }
  ensureFusedKernels(tf.getBackend());
  const inputs: AttentionInputs = { q, k, v };
  const attrs: AttentionAttrs = { heads };
  const [o, lse] = tf
    .engine()
    .runKernel<tf.Tensor[]>(
      Attention,
      inputs as unknown as tf.NamedTensorMap,
      attrs as unknown as tf.NamedAttrMap,
    );
  lse.dispose();
  return o as tf.Tensor3D;
}
