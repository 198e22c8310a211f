import * as tf from '@tensorflow/tfjs';
import { Attention, type AttentionAttrs, type AttentionInputs } from './kernel-names.js';
import { ensureFusedKernels } from './kernels.js';

/**
 * Backends that run attention as the fused kernel: 'native' (C++, native/attention.cc) and
 * 'cpu' (the portable TypeScript one, the reference the native kernel is checked against).
 * Elsewhere (wasm, webgl, …) the portable kernel would run as plain JavaScript loops, far
 * slower than the backend's own matMul and softmax: there attention is composed of those.
 */
const FUSED_BACKENDS = new Set(['native', 'cpu']);

function checkOperand(name: string, t: tf.Tensor): void {
  if (t.rank !== 3) {
    throw new Error(`attention: ${name} must be [b, n, channels] (got rank ${t.rank})`);
  }
  if (t.dtype !== 'float32') throw new Error(`attention: ${name} must be float32 (got ${t.dtype})`);
}

function checkHeads(heads: number, c: number): void {
  if (!Number.isInteger(heads) || heads < 1 || c % heads !== 0) {
    throw new Error(
      `attention: heads must be a positive integer dividing ${c} channels (got ${String(heads)})`,
    );
  }
}

/**
 * Multi-head attention softmax(q kᵀ / √d) v as one kernel forward and one backward, on every
 * backend: q, k, v are [b, n, heads·d] (head h on channels h·d … h·d+d-1) and so is the
 * result. No [n, n] score matrix is kept: the gradient recomputes scores from q and k and each
 * row's saved normaliser (on 'native', block by block: native/attention.cc). A model that
 * projects q, k and v from one input should project them packed and call attentionPacked.
 * @example const o = attention(q, k, v, 4); // q, k, v [64, 1024, 32]: 4 heads of 8
 */
export function attention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, heads = 1): tf.Tensor3D {
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    checkOperand(name, t);
    if (t.shape.join() !== q.shape.join()) {
      throw new Error(
        `attention: ${name} must have q's shape [${q.shape.join(', ')}] (got [${t.shape.join(', ')}])`,
      );
    }
  }
  checkHeads(heads, q.shape[2]);
  return tf.tidy(() => attentionPacked(tf.concat([q, k, v], 2), heads));
}

/**
 * attention() of q, k and v packed as qkv [b, n, 3·C] (q's C channels, then k's, then v's, as
 * `x · [Wq | Wk | Wv]` gives them): one input, so one projection forward and one backward.
 * Returns [b, n, C].
 * @example const o = attentionPacked(tf.matMul(x, wqkv).reshape([64, 1024, 48]), 1);
 */
export function attentionPacked(qkv: tf.Tensor3D, heads = 1): tf.Tensor3D {
  checkOperand('qkv', qkv);
  const c3 = qkv.shape[2];
  if (c3 % 3 !== 0) {
    throw new Error(`attention: qkv must have 3·C channels (got ${c3})`);
  }
  checkHeads(heads, c3 / 3);
  const backend = tf.getBackend();
  if (!FUSED_BACKENDS.has(backend)) return attentionComposed(qkv, heads);
  ensureFusedKernels(backend);
  const inputs: AttentionInputs = { qkv };
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

/**
 * The same attention composed of tf ops (matMul, softmax, slices and a concat), per head: it
 * holds [b, n, n] scores and their softmax (kept for the gradient) per head.
 * @example const o = attentionComposed(qkv, 2);
 */
export function attentionComposed(qkv: tf.Tensor3D, heads = 1): tf.Tensor3D {
  const [b, n, c3] = qkv.shape;
  const c = c3 / 3;
  const d = c / heads;
  return tf.tidy(() => {
    const part = (at: number): tf.Tensor3D => tf.slice(qkv, [0, 0, at], [b, n, d]);
    const mixes = Array.from({ length: heads }, (_, h) => {
      const q = tf.mul<tf.Tensor3D>(part(h * d), 1 / Math.sqrt(d)); // scaled before the [n, n]
      const scores = tf.matMul<tf.Tensor3D>(q, part(c + h * d), false, true);
      return tf.matMul<tf.Tensor3D>(tf.softmax(scores), part(2 * c + h * d));
    });
    return heads === 1 ? mixes[0] : tf.concat<tf.Tensor3D>(mixes, 2);
  });
}
