import type * as tf from '@tensorflow/tfjs';
import {
  AttentionGrad,
  type AttentionGradAttrs,
  type AttentionGradInputs,
} from '../fused/kernel-names.js';
import { alloc, attentionDims, f32, nativeKernel, type NativeKernelArgs } from './shared.js';

/** Fused attention's gradient, scores recomputed tile by tile: outputs dq, dk, dv. */
export function attentionGrad({
  inputs: { dy, q, k, v, o, lse },
  attrs: { heads },
  backend,
  addon,
}: NativeKernelArgs<AttentionGradInputs, AttentionGradAttrs>): tf.TensorInfo[] | null {
  if (!dy || !q || !k || !v || !o || !lse) return null;
  const dims = attentionDims(q.shape, heads);
  const values = [q, k, v, o, lse, dy].map((t) => f32(backend, t));
  const [qv, kv, vv, ov, lv, dyv] = values;
  if (!dims || !qv || !kv || !vv || !ov || !lv || !dyv) return null;
  const [dq, dk, dv] = [alloc(qv.length), alloc(qv.length), alloc(qv.length)];
  addon.attentionGrad(qv, kv, vv, ov, lv, dyv, dq, dk, dv, dims);
  return [dq, dk, dv].map((g) => backend.makeTensorInfo([...q.shape], 'float32', g));
}

export const attentionGradConfig = nativeKernel(AttentionGrad, attentionGrad);
