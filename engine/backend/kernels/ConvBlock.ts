import type * as tf from '@tensorflow/tfjs';
import { ConvBlock, type ConvBlockAttrs, type ConvBlockInputs } from '../fused/kernel-names.js';
import { convBlockArgs } from './conv-block.js';
import { alloc, f32, nativeKernel, sizeOf, type NativeKernelArgs } from './shared.js';

/**
 * The UNet's double-conv block in one addon call (native/block.cc), running the convolution
 * and GroupNorm routines of the separate kernels in their order, so its outputs are theirs
 * bit for bit: outputs y, h1, h2, mean1, rstd1, mean2, rstd2.
 */
export function convBlock({
  inputs: { x, w1, gamma1, beta1, w2, gamma2, beta2, bias },
  attrs,
  backend,
  addon,
}: NativeKernelArgs<ConvBlockInputs, ConvBlockAttrs>): tf.TensorInfo[] | null {
  if (!x || !w1 || !gamma1 || !beta1 || !w2 || !gamma2 || !beta2) return null;
  if (attrs.hasBias && !bias) return null;
  const args = convBlockArgs(x, w1, w2, attrs);
  const values = [x, w1, gamma1, beta1, w2, gamma2, beta2, bias ?? x].map((t) => f32(backend, t));
  if (!args || values.some((v) => !v)) return null;
  const b = x.shape[0];
  const y = alloc(sizeOf(args.yShape));
  const h1 = alloc(sizeOf(args.h1Shape));
  const h2 = alloc(sizeOf(args.yShape));
  const stats = [attrs.groups1, attrs.groups1, attrs.groups2, attrs.groups2].map(
    (g) => new Float32Array(b * g),
  );
  const [xv, w1v, g1v, b1v, w2v, g2v, b2v, biasv] = values as Float32Array[];
  addon.convBlock(
    xv,
    w1v,
    g1v,
    b1v,
    w2v,
    g2v,
    b2v,
    attrs.hasBias ? biasv : new Float32Array(0),
    y,
    h1,
    h2,
    ...(stats as [Float32Array, Float32Array, Float32Array, Float32Array]),
    args.geom1,
    args.geom2,
    args.params,
    attrs.eps,
  );
  return [
    backend.makeTensorInfo(args.yShape, 'float32', y),
    backend.makeTensorInfo(args.h1Shape, 'float32', h1),
    backend.makeTensorInfo(args.yShape, 'float32', h2),
    ...stats.map((s, i) =>
      backend.makeTensorInfo([b, i < 2 ? attrs.groups1 : attrs.groups2], 'float32', s),
    ),
  ];
}

export const convBlockConfig = nativeKernel(ConvBlock, convBlock);
