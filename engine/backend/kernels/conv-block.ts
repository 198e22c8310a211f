import type * as tf from '@tensorflow/tfjs';
import type { ConvBlockAttrs } from '../fused/kernel-names.js';
import { convGeom, convInfo } from './shared.js';

/** The addon's description of a ConvBlock: its two convolutions' geometries and its params. */
export interface ConvBlockArgs {
  geom1: Int32Array;
  geom2: Int32Array;
  /** groups1, groups2, residual, bias, inputGrad (each 0/1 after the groups). */
  params: Int32Array;
  /** h1's and y's shapes (h2 has y's). */
  h1Shape: number[];
  yShape: number[];
}

/**
 * The geometry of both convolutions as `tf.conv2d(x, w, 1, 'same')` computes it, or null where
 * the addon does not handle the inputs (another layout, conv2 not fitting conv1's output).
 */
export function convBlockArgs(
  x: tf.TensorInfo,
  w1: tf.TensorInfo,
  w2: tf.TensorInfo,
  attrs: ConvBlockAttrs,
): ConvBlockArgs | null {
  const same = { strides: 1, pad: 'same' } as const;
  const c1 = convInfo(x.shape, w1.shape, same, 1);
  const c2 = c1 && convInfo(c1.outShape, w2.shape, same, 1);
  if (!c1 || !c2 || c1.outChannels !== w2.shape[2]) return null;
  const { groups1, groups2, residual, hasBias, inputGrad } = attrs;
  return {
    geom1: convGeom(c1),
    geom2: convGeom(c2),
    params: Int32Array.from([groups1, groups2, +residual, +hasBias, +inputGrad]),
    h1Shape: [...c1.outShape],
    yShape: [...c2.outShape],
  };
}
