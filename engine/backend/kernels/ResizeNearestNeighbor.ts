import * as tf from '@tensorflow/tfjs';
import { nearestSourceMaps } from '../resize-nearest-grad.js';
import { alloc, f32, nativeKernel, type NativeKernelArgs } from './shared.js';

/** Nearest-neighbour resize of NHWC images, with tfjs's source-index rule. */
export function resizeNearestNeighbor({
  inputs: { images },
  attrs,
  backend,
  addon,
}: NativeKernelArgs<
  tf.ResizeNearestNeighborInputs,
  tf.ResizeNearestNeighborAttrs
>): tf.TensorInfo | null {
  if (!images) return null;
  const xv = f32(backend, images);
  if (!xv || images.shape.length !== 4) return null;
  const [n, h, w, c] = images.shape;
  const [nh, nw] = attrs.size;
  const { rows, cols } = nearestSourceMaps(h, w, nh, nw, attrs);
  const out = alloc(n * nh * nw * c);
  addon.resizeNearest(xv, out, Int32Array.from([n, h, w, c, nh, nw]), rows, cols);
  return backend.makeTensorInfo([n, nh, nw, c], 'float32', out);
}

export const resizeNearestNeighborConfig = nativeKernel(
  tf.ResizeNearestNeighbor,
  resizeNearestNeighbor,
);
