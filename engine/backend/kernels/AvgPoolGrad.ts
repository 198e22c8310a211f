import * as tf from '@tensorflow/tfjs';
import {
  alloc,
  f32,
  nativeKernel,
  poolGeom,
  poolInfo,
  sizeOf,
  type NativeKernelArgs,
} from './shared.js';

/** The gradient of average pooling (divides by the window size, as tfjs's cpu kernel does). */
export function avgPoolGrad({
  inputs: { dy, input },
  attrs,
  backend,
  addon,
}: NativeKernelArgs<tf.AvgPoolGradInputs, tf.AvgPoolGradAttrs>): tf.TensorInfo | null {
  if (!dy || !input) return null;
  const dyv = f32(backend, dy);
  const info = poolInfo(input.shape, attrs);
  const g = info && poolGeom(info);
  if (!dyv || !info || !g) return null;
  const out = alloc(sizeOf(input.shape));
  addon.avgPoolGrad(dyv, out, g);
  return backend.makeTensorInfo([...input.shape], 'float32', out);
}

export const avgPoolGradConfig = nativeKernel(tf.AvgPoolGrad, avgPoolGrad);
