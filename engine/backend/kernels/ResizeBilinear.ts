import * as tf from '@tensorflow/tfjs';
import { bilinearArgs } from '../resize-bilinear-maps.js';
import { alloc, f32, nativeKernel, type NativeKernelArgs } from './shared.js';

/** Bilinear resize of NHWC images with tfjs's source rule (half-pixel centres: the cpu kernel). */
export function resizeBilinear({
  inputs: { images },
  attrs,
  backend,
  addon,
}: NativeKernelArgs<tf.ResizeBilinearInputs, tf.ResizeBilinearAttrs>): tf.TensorInfo | null {
  if (!images || attrs.halfPixelCenters) return null;
  const xv = f32(backend, images);
  if (!xv || images.shape.length !== 4) return null;
  const [n, , , c] = images.shape;
  const [nh, nw] = attrs.size;
  const out = alloc(n * nh * nw * c);
  addon.resizeBilinear(xv, out, ...bilinearArgs(images.shape, nh, nw, attrs.alignCorners === true));
  return backend.makeTensorInfo([n, nh, nw, c], 'float32', out);
}

export const resizeBilinearConfig = nativeKernel(tf.ResizeBilinear, resizeBilinear);
