import * as tf from '@tensorflow/tfjs';
import type { GroupNormActivation } from '../fused/kernel-names.js';
import type { NativeAddon } from '../native/addon.js';
import { nativeBufferPool } from '../native/buffer-pool.js';

/** The parts of tfjs-backend-cpu's MathBackendCPU that the native kernels touch. */
export interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } | undefined };
  refCount(dataId: object): number;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  readSync(dataId: object): unknown;
}

/** What a native kernel gets: its inputs and attributes typed as tfjs types them. */
export interface NativeKernelArgs<I, A> {
  inputs: I;
  attrs: A;
  backend: CpuBackend;
  addon: NativeAddon;
}

/**
 * A kernel's output, or null when its inputs are outside what the addon handles (another
 * dtype, a rank over 8, a layout it does not know): the cpu kernel then runs instead.
 */
export type NativeKernelResult = tf.TensorInfo | tf.TensorInfo[] | null;

export type NativeKernelFunc = (args: NativeKernelArgs<unknown, unknown>) => NativeKernelResult;

/** One kernel of the 'native' backend, as tfjs's KernelConfig is one of a backend's. */
export interface NativeKernelConfig {
  kernelName: string;
  kernelFunc: NativeKernelFunc;
}

/**
 * A config from a kernel function typed with its tfjs inputs and attributes (the one place
 * where tfjs's untyped maps meet the typed function, as in tfjs's own backends).
 * @example export const conv2DConfig = nativeKernel(tf.Conv2D, conv2D);
 */
export function nativeKernel<I, A>(
  kernelName: string,
  kernelFunc: (args: NativeKernelArgs<I, A>) => NativeKernelResult,
): NativeKernelConfig {
  return { kernelName, kernelFunc: kernelFunc as NativeKernelFunc };
}

/** A tensor's float32 values in place, or null when it is not float32. */
export function f32(backend: CpuBackend, t: tf.TensorInfo): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId)?.values;
  if (v instanceof Float32Array) return v;
  const read = backend.readSync(t.dataId);
  return read instanceof Float32Array ? read : null;
}

/**
 * Uninitialised float32 storage for a kernel output (every native kernel writes all of it),
 * recycled from disposed tensors when the native backend's buffer pool holds one that fits.
 */
export function alloc(n: number): Float32Array {
  return nativeBufferPool.take(n);
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

type Shape4 = [number, number, number, number];

/** The geometry tfjs computes for an NHWC 2-D convolution; null for another layout or rank. */
export function convInfo(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: {
    strides: number | [number, number];
    pad: tf.Conv2DAttrs['pad'];
    dataFormat?: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  },
  dilations: number | [number, number],
): tf.backend_util.Conv2DInfo | null {
  const dataFormat = attrs.dataFormat ?? 'NHWC';
  if (dataFormat !== 'NHWC' || xShape.length !== 4 || filterShape.length !== 4) return null;
  return tf.backend_util.computeConv2DInfo(
    [...xShape] as Shape4,
    [...filterShape] as Shape4,
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** The addon's 15 convolution parameters (native/gemm.h ConvGeom, in order). */
export function convGeom(c: tf.backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.outChannels,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.padInfo.top,
    c.padInfo.left,
    c.dilationHeight,
    c.dilationWidth,
  ]);
}

/** The pooling geometry tfjs computes for an NHWC input; null for another rank. */
export function poolInfo(
  shape: readonly number[],
  attrs: {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: tf.AvgPoolAttrs['pad'];
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  },
): tf.backend_util.Conv2DInfo | null {
  if (shape.length !== 4) return null;
  return tf.backend_util.computePool2DInfo(
    [...shape] as Shape4,
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/** The addon's 12 pooling parameters; null for a dilated pool (not implemented natively). */
export function poolGeom(c: tf.backend_util.Conv2DInfo): Int32Array | null {
  if (c.dilationHeight !== 1 || c.dilationWidth !== 1) return null;
  return Int32Array.from([
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.padInfo.top,
    c.padInfo.left,
  ]);
}

/** The addon's GroupNorm dimensions: batch, height·width, channels, groups, GELU after (0/1). */
export function groupNormDims(
  b: number,
  hw: number,
  c: number,
  groups: number,
  activation: GroupNormActivation = 'none',
): Int32Array {
  return Int32Array.from([b, hw, c, groups, activation === 'gelu' ? 1 : 0]);
}

/**
 * A pooling kernel's forward pass: NHWC `x` into the output `poolInfo` gives it, which `run`
 * (the addon's avgPool or maxPool) fills; null where the addon does not handle the case.
 */
export function poolForward(
  {
    inputs: { x },
    attrs,
    backend,
  }: NativeKernelArgs<{ x?: tf.TensorInfo }, Parameters<typeof poolInfo>[1]>,
  run: (x: Float32Array, out: Float32Array, geom: Int32Array) => void,
): tf.TensorInfo | null {
  if (!x) return null;
  const xv = f32(backend, x);
  const info = poolInfo(x.shape, attrs);
  const g = info && poolGeom(info);
  if (!xv || !info || !g) return null;
  const out = alloc(sizeOf(info.outShape));
  run(xv, out, g);
  return backend.makeTensorInfo(info.outShape, 'float32', out);
}

/**
 * The addon's attention dimensions (batch, positions, heads, head size) of a packed
 * [b, n, 3·heads·d] input; null outside what it handles (another rank, a head over 1,024
 * channels).
 */
export function attentionDims(shape: readonly number[], heads: number): Int32Array | null {
  if (shape.length !== 3 || !Number.isInteger(heads) || heads < 1) return null;
  const [b, n, c3] = shape;
  const d = c3 / 3 / heads;
  if (!Number.isInteger(d) || d < 1 || d > 1024) return null;
  return Int32Array.from([b, n, heads, d]);
}
