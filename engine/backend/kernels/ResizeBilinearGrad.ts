import * as tf from '@tensorflow/tfjs';
import { bilinearArgs } from '../resize-bilinear-maps.js';
import { alloc, f32, nativeKernel, type NativeKernelArgs } from './shared.js';

/** The adjoint of the bilinear resize: every dy element spread over its four source pixels. */
export function resizeBilinearGrad({
  inputs: { images, dy },
  attrs,
  backend,
  addon,
}: NativeKernelArgs<
  tf.ResizeBilinearGradInputs,
  tf.ResizeBilinearGradAttrs
>): tf.TensorInfo | null {
  if (!images || !dy || attrs.halfPixelCenters) return null;
  const dyv = f32(backend, dy);
  if (!dyv || images.shape.length !== 4 || dy.shape.length !== 4) return null;
  const [n, h, w, c] = images.shape;
  const [, nh, nw] = dy.shape;
  const out = alloc(n * h * w * c);
  addon.resizeBilinearGrad(
    dyv,
    out,
    ...bilinearArgs(images.shape, nh, nw, attrs.alignCorners === true),
  );
  return backend.makeTensorInfo([n, h, w, c], 'float32', out);
}

export const resizeBilinearGradConfig = nativeKernel(tf.ResizeBilinearGrad, resizeBilinearGrad);
