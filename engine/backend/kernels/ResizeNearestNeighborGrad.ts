import * as tf from '@tensorflow/tfjs';
import { nearestSourceMaps } from '../resize-nearest-grad.js';
import { alloc, f32, nativeKernel, type NativeKernelArgs } from './shared.js';

/**
 * The exact adjoint of the nearest resize (every dy element added to the pixel it was copied
 * from). tfjs's cpu kernel reads dy with the image's batch stride, so for batch > 1 its
 * result is wrong; this one is checked against the adjoint identity in the spec.
 */
export function resizeNearestNeighborGrad({
  inputs: { images, dy },
  attrs,
  backend,
  addon,
}: NativeKernelArgs<
  tf.ResizeNearestNeighborGradInputs,
  tf.ResizeNearestNeighborGradAttrs
>): tf.TensorInfo | null {
  if (!images || !dy) return null;
  const dyv = f32(backend, dy);
  if (!dyv || images.shape.length !== 4 || dy.shape.length !== 4) return null;
  const [n, h, w, c] = images.shape;
  const [, nh, nw] = dy.shape;
  const { rows, cols } = nearestSourceMaps(h, w, nh, nw, attrs);
  const out = alloc(n * h * w * c);
  addon.resizeNearestGrad(dyv, out, Int32Array.from([n, h, w, c, nh, nw]), rows, cols);
  return backend.makeTensorInfo([n, h, w, c], 'float32', out);
}

export const resizeNearestNeighborGradConfig = nativeKernel(
  tf.ResizeNearestNeighborGrad,
  resizeNearestNeighborGrad,
);
