import type * as tf from '@tensorflow/tfjs';
import {
  ConvBlockGrad,
  type ConvBlockGradAttrs,
  type ConvBlockGradInputs,
} from '../fused/kernel-names.js';
import { convBlockArgs } from './conv-block.js';
import { alloc, f32, nativeKernel, sizeOf, type NativeKernelArgs } from './shared.js';

/**
 * The double-conv block's gradient in one addon call, the activations recomputed from the
 * saved convolution outputs: outputs dx (zeros without inputGrad), dw1, dgamma1, dbeta1, dw2, dgamma2, dbeta2 and, for
 * a block with a bias, dbias [b, 1, 1, cout].
 */
export function convBlockGrad({
  inputs: { dy, x, w1, gamma1, beta1, w2, gamma2, beta2, h1, h2, mean1, rstd1, mean2, rstd2 },
  attrs,
  backend,
  addon,
}: NativeKernelArgs<ConvBlockGradInputs, ConvBlockGradAttrs>): tf.TensorInfo[] | null {
  const inputs = [x, w1, gamma1, beta1, w2, gamma2, beta2];
  const saved = [dy, h1, h2, mean1, rstd1, mean2, rstd2];
  if (!x || !w1 || !w2 || [...inputs, ...saved].some((t) => !t)) return null;
  const args = convBlockArgs(x, w1, w2, attrs);
  const values = [...inputs, ...saved].map((t) => f32(backend, t!));
  if (!args || values.some((v) => !v)) return null;
  const [xv, w1v, g1v, b1v, w2v, g2v, b2v, dyv, h1v, h2v, m1v, r1v, m2v, r2v] =
    values as Float32Array[];
  // dx, dw1, dgamma1, dbeta1, dw2, dgamma2, dbeta2 take their input's shape, dbias its own.
  const shapes = inputs.map((t) => [...t!.shape]);
  if (attrs.hasBias) shapes.push([x.shape[0], 1, 1, args.yShape[3]]);
  // Without an input gradient dx stays zeros (the addon leaves it alone).
  const g = shapes.map((s, i) =>
    i === 0 && !attrs.inputGrad ? new Float32Array(sizeOf(s)) : alloc(sizeOf(s)),
  );
  addon.convBlockGrad(
    dyv,
    xv,
    w1v,
    g1v,
    b1v,
    w2v,
    g2v,
    b2v,
    h1v,
    h2v,
    m1v,
    r1v,
    m2v,
    r2v,
    attrs.inputGrad ? g[0] : new Float32Array(0),
    g[1],
    g[2],
    g[3],
    g[4],
    g[5],
    g[6],
    g[7] ?? new Float32Array(0),
    args.geom1,
    args.geom2,
    args.params,
    attrs.eps,
  );
  return g.map((v, i) => backend.makeTensorInfo(shapes[i], 'float32', v));
}

export const convBlockGradConfig = nativeKernel(ConvBlockGrad, convBlockGrad);
