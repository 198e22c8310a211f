import type * as tf from '@tensorflow/tfjs';
import {
  AttentionGrad,
  type AttentionGradAttrs,
  type AttentionGradInputs,
} from '../fused/kernel-names.js';
import { alloc, attentionDims, f32, nativeKernel, type NativeKernelArgs } from './shared.js';

/** Fused attention's gradient, scores recomputed block by block: outputs dqkv. */
export function attentionGrad({
  inputs: { dy, qkv, o, lse },
  attrs: { heads },
  backend,
  addon,
}: NativeKernelArgs<AttentionGradInputs, AttentionGradAttrs>): tf.TensorInfo[] | null {
  if (!dy || !qkv || !o || !lse) return null;
  const dims = attentionDims(qkv.shape, heads);
  const [x, ov, lv, dyv] = [qkv, o, lse, dy].map((t) => f32(backend, t));
  if (!dims || !x || !ov || !lv || !dyv) return null;
  const g = alloc(x.length);
  addon.attentionGrad(x, ov, lv, dyv, g, dims);
  return [backend.makeTensorInfo([...qkv.shape], 'float32', g)];
}

export const attentionGradConfig = nativeKernel(AttentionGrad, attentionGrad);
