import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { nearestSourceMaps } from './resize-nearest-grad.js';

/**
 * The 'native' tfjs backend: the pure-JS cpu backend with its hot kernels (convolutions and
 * their gradients, matMul, and the memory-bound ops the UNet spends its time in) replaced by
 * C++ kernels from the `phasewatch_native` N-API addon, threaded over every core.
 * Tensors live in the same TypedArrays as on 'cpu', so the addon reads and writes them in place.
 */

/** The functions the addon exports (see native/addon.cc). */
export interface NativeAddon {
  conv2d(x: Float32Array, filter: Float32Array, y: Float32Array, geom: Int32Array): void;
  conv2dBackpropInput(
    dy: Float32Array,
    filter: Float32Array,
    dx: Float32Array,
    geom: Int32Array,
  ): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, df: Float32Array, geom: Int32Array): void;
  batchMatMul(a: Float32Array, b: Float32Array, c: Float32Array, params: Int32Array): void;
  binary(
    op: number,
    a: Float32Array,
    aShape: Int32Array,
    b: Float32Array,
    bShape: Int32Array,
    out: Float32Array,
    outShape: Int32Array,
  ): void;
  unary(op: number, x: Float32Array, out: Float32Array, p0?: number, p1?: number): void;
  reduce(op: number, x: Float32Array, shape: Int32Array, mask: Int32Array, out: Float32Array): void;
  slice(
    x: Float32Array,
    shape: Int32Array,
    begin: Int32Array,
    size: Int32Array,
    out: Float32Array,
  ): void;
  concat(xs: Float32Array[], widths: number[], outer: number, out: Float32Array): void;
  avgPool(x: Float32Array, y: Float32Array, geom: Int32Array): void;
  avgPoolGrad(dy: Float32Array, dx: Float32Array, geom: Int32Array): void;
  resizeNearest(
    x: Float32Array,
    y: Float32Array,
    geom: Int32Array,
    ymap: Int32Array,
    xmap: Int32Array,
  ): void;
  resizeNearestGrad(
    dy: Float32Array,
    dx: Float32Array,
    geom: Int32Array,
    ymap: Int32Array,
    xmap: Int32Array,
  ): void;
  groupNorm(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dims: Int32Array,
    eps: number,
  ): void;
  groupNormGrad(
    dy: Float32Array,
    x: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    dims: Int32Array,
  ): void;
  gelu(x: Float32Array, y: Float32Array): void;
  geluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  /**
   * One Adam step then the EMA update, in place, for every tensor i (all five arrays of a
   * tensor equally long); coef = b1, 1−b1, b2, 1−b2, 1−b1ᵗ, 1−b2ᵗ, eps, −lr, decay, 1−decay.
   */
  adamEma(
    params: Float32Array[],
    grads: Float32Array[],
    m: Float32Array[],
    v: Float32Array[],
    ema: Float32Array[],
    coef: Float32Array,
  ): void;
  /** Threads used per kernel; with an argument, sets it first. */
  threads(n?: number): number;
}

/** The parts of tfjs-backend-cpu's MathBackendCPU that the native kernels touch. */
interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } | undefined };
  refCount(dataId: object): number;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  readSync(dataId: object): unknown;
}

type Attrs = Record<string, unknown>;
type Inputs = Record<string, tf.TensorInfo>;
type NativeKernel = (
  inputs: Inputs,
  backend: CpuBackend,
  attrs: Attrs,
) => tf.TensorInfo | tf.TensorInfo[] | null;

export const NATIVE_BACKEND = 'native';
const ADDON_RELATIVE = '../../build/Release/phasewatch_native.node';

let addon: NativeAddon | null | undefined;
let registered = false;
let warned = false;
const hits = new Map<string, number>();

/**
 * How often each native kernel ran natively (rather than falling back to the cpu kernel) since
 * the last reset; for tests and profiling.
 * @example resetNativeKernelHits(); tf.conv2d(x, w, 1, 'same'); nativeKernelHits().Conv2D // 1
 */
export function nativeKernelHits(): Record<string, number> {
  return Object.fromEntries(hits);
}

export function resetNativeKernelHits(): void {
  hits.clear();
}

/**
 * Loads the addon once; returns null (after one warning line on stderr) when it is not built.
 * @example const a = loadNativeAddon(); if (a) a.threads(2);
 */
export function loadNativeAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const file = path.resolve(here, ADDON_RELATIVE);
  try {
    const require = createRequire(import.meta.url);
    addon = require(file) as NativeAddon;
  } catch (err) {
    addon = null;
    if (!warned) {
      warned = true;
      const why = (err instanceof Error ? err.message : String(err)).split('\n')[0];
      console.warn(
        `phasewatch: native kernels unavailable (${why}); using the pure-JS backend ` +
          '(`npm install` builds them where g++ and node-gyp work)',
      );
    }
  }
  return addon;
}

/**
 * Registers the 'native' tfjs backend (idempotent). Returns false, after one warning line,
 * when the addon is not built; tfjs then keeps its other backends.
 * @example if (registerNativeBackend()) await tf.setBackend('native');
 */
export function registerNativeBackend(): boolean {
  if (registered) return true;
  const lib = loadNativeAddon();
  if (!lib) return false;
  const cpuFactory = tf.findBackendFactory('cpu');
  if (!cpuFactory) {
    if (!warned) {
      warned = true;
      console.warn(
        'phasewatch: the tfjs cpu backend is missing; native kernels are not registered',
      );
    }
    return false;
  }
  // A fresh MathBackendCPU instance: the cpu kernels run on it unchanged, ours replace some.
  // Its first write would print tfjs's "install tfjs-node to speed things up" banner, which
  // is wrong advice on this backend: mark it as already used.
  tf.registerBackend(
    NATIVE_BACKEND,
    async () => {
      const backend = (await cpuFactory()) as tf.KernelBackend & { firstUse?: boolean };
      backend.firstUse = false;
      return backend;
    },
    0,
  );
  const overrides = nativeKernels(lib);
  for (const config of tf.getKernelsForBackend('cpu')) {
    const override = overrides.get(config.kernelName);
    const cpuFunc = config.kernelFunc;
    const name = config.kernelName;
    const kernelFunc: tf.KernelFunc = override
      ? (params) => {
          const backend = params.backend as CpuBackend;
          const attrs = (params.attrs ?? {}) as Attrs;
          const out = override(params.inputs as Inputs, backend, attrs);
          if (out === null) return cpuFunc(params);
          hits.set(name, (hits.get(name) ?? 0) + 1);
          return out;
        }
      : cpuFunc;
    tf.registerKernel({ ...config, backendName: NATIVE_BACKEND, kernelFunc });
  }
  registered = true;
  return true;
}

/** Kernel names the addon implements (the rest run the cpu backend's JS). */
export function nativeKernelNames(): string[] {
  const lib = loadNativeAddon();
  return lib ? [...nativeKernels(lib).keys()] : [];
}

// ---------------------------------------------------------------------------------------------

function f32(backend: CpuBackend, t: tf.TensorInfo): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId)?.values;
  if (v instanceof Float32Array) return v;
  const read = backend.readSync(t.dataId);
  return read instanceof Float32Array ? read : null;
}

/**
 * Uninitialised float32 storage for a kernel output (every native kernel writes all of it):
 * skips the zero fill, and with the addon's malloc settings reuses warm heap pages.
 */
function alloc(n: number): Float32Array {
  // Small arrays come from V8's own allocator faster than from a Buffer.
  if (n < 1 << 16) return new Float32Array(n);
  const buf = Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(buf.buffer, buf.byteOffset, n);
}

function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Shape4 = [number, number, number, number];

function convInfo(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: Attrs,
  dilations: number | [number, number],
): tf.backend_util.Conv2DInfo | null {
  const dataFormat = (attrs.dataFormat as string | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC' || xShape.length !== 4 || filterShape.length !== 4) return null;
  return tf.backend_util.computeConv2DInfo(
    [...xShape] as Shape4,
    [...filterShape] as Shape4,
    attrs.strides as number | [number, number],
    dilations,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
    false,
    'channelsLast',
  );
}

function geom(c: tf.backend_util.Conv2DInfo): Int32Array {
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

function nativeKernels(lib: NativeAddon): Map<string, NativeKernel> {
  const k = new Map<string, NativeKernel>();

  k.set('Conv2D', (inputs, backend, attrs) => {
    const { x, filter } = inputs;
    const info = convInfo(x.shape, filter.shape, attrs, (attrs.dilations as number) ?? 1);
    const xv = f32(backend, x);
    const fv = f32(backend, filter);
    if (!info || !xv || !fv) return null;
    const out = alloc(size(info.outShape));
    lib.conv2d(xv, fv, out, geom(info));
    return backend.makeTensorInfo(info.outShape, 'float32', out);
  });

  k.set('Conv2DBackpropInput', (inputs, backend, attrs) => {
    const { dy, filter } = inputs;
    const inputShape = attrs.inputShape as number[];
    const info = convInfo(inputShape, filter.shape, attrs, 1);
    const dyv = f32(backend, dy);
    const fv = f32(backend, filter);
    if (!info || !dyv || !fv) return null;
    const out = alloc(size(inputShape));
    lib.conv2dBackpropInput(dyv, fv, out, geom(info));
    return backend.makeTensorInfo([...inputShape], 'float32', out);
  });

  k.set('Conv2DBackpropFilter', (inputs, backend, attrs) => {
    const { x, dy } = inputs;
    const filterShape = attrs.filterShape as number[];
    const info = convInfo(x.shape, filterShape, attrs, 1);
    const xv = f32(backend, x);
    const dyv = f32(backend, dy);
    if (!info || !xv || !dyv) return null;
    const out = alloc(size(filterShape));
    lib.conv2dBackpropFilter(xv, dyv, out, geom(info));
    return backend.makeTensorInfo([...filterShape], 'float32', out);
  });

  k.set('BatchMatMul', (inputs, backend, attrs) => {
    const { a, b } = inputs;
    const transA = attrs.transposeA === true;
    const transB = attrs.transposeB === true;
    const ar = a.shape.length;
    const br = b.shape.length;
    if (ar < 2 || br < 2) return null;
    const m = transA ? a.shape[ar - 1] : a.shape[ar - 2];
    const kA = transA ? a.shape[ar - 2] : a.shape[ar - 1];
    const kB = transB ? b.shape[br - 1] : b.shape[br - 2];
    const n = transB ? b.shape[br - 2] : b.shape[br - 1];
    if (kA !== kB) return null; // the cpu kernel throws the proper error
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = size(outerA);
    const batchB = size(outerB);
    // Only equal batches or a broadcast single matrix; tfjs's general broadcasting goes to cpu.
    if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
    let outer: number[];
    if (batchA === batchB && outerA.length === outerB.length) outer = outerA;
    else if (batchB === 1 && outerA.length >= outerB.length) outer = outerA;
    else if (batchA === 1 && outerB.length >= outerA.length) outer = outerB;
    else return null;
    const av = f32(backend, a);
    const bv = f32(backend, b);
    if (!av || !bv) return null;
    const batch = Math.max(batchA, batchB);
    const out = alloc(batch * m * n);
    const params = Int32Array.from([
      batch,
      m,
      n,
      kA,
      batchA === 1 ? 0 : m * kA,
      batchB === 1 ? 0 : kA * n,
      transA ? 1 : 0,
      transB ? 1 : 0,
    ]);
    lib.batchMatMul(av, bv, out, params);
    return backend.makeTensorInfo([...outer, m, n], 'float32', out);
  });

  // Elementwise binary ops with broadcasting (codes as in native/ops.h).
  const binaryOps: [string, number][] = [
    ['Add', 0],
    ['Sub', 1],
    ['Multiply', 2],
    ['RealDiv', 3],
    ['SquaredDifference', 4],
    ['Maximum', 5],
    ['Minimum', 6],
  ];
  for (const [name, op] of binaryOps) {
    k.set(name, (inputs, backend) => {
      const { a, b } = inputs;
      const av = f32(backend, a);
      const bv = f32(backend, b);
      if (!av || !bv || a.shape.length > 8 || b.shape.length > 8) return null;
      const shape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const out = alloc(size(shape));
      lib.binary(
        op,
        av,
        Int32Array.from(a.shape),
        bv,
        Int32Array.from(b.shape),
        out,
        Int32Array.from(shape),
      );
      return backend.makeTensorInfo(shape, 'float32', out);
    });
  }

  // Elementwise unary ops.
  const unaryOps: [string, number][] = [
    ['Neg', 0],
    ['Square', 1],
    ['Sqrt', 2],
    ['Rsqrt', 3],
    ['Exp', 4],
    ['Log', 5],
    ['Erf', 6],
    ['Abs', 7],
    ['Relu', 8],
    ['Sigmoid', 9],
    ['Tanh', 10],
    ['Reciprocal', 11],
    ['ClipByValue', 12],
  ];
  for (const [name, op] of unaryOps) {
    k.set(name, (inputs, backend, attrs) => {
      const { x } = inputs;
      const xv = f32(backend, x);
      if (!xv) return null;
      const out = alloc(size(x.shape));
      lib.unary(op, xv, out, Number(attrs.clipValueMin ?? 0), Number(attrs.clipValueMax ?? 0));
      return backend.makeTensorInfo([...x.shape], 'float32', out);
    });
  }

  // Reductions over any set of axes.
  const reduceOps: [string, number][] = [
    ['Sum', 0],
    ['Mean', 1],
    ['Max', 2],
    ['Min', 3],
  ];
  for (const [name, op] of reduceOps) {
    k.set(name, (inputs, backend, attrs) => {
      const { x } = inputs;
      const xv = f32(backend, x);
      if (!xv || x.shape.length > 8) return null;
      // Max names its axes reductionIndices; the others call them axis.
      const axis = (attrs.axis ?? attrs.reductionIndices) as number | number[];
      const axes = tf.util.parseAxisParam(axis, [...x.shape]);
      const mask = new Int32Array(x.shape.length);
      for (const ax of axes) mask[ax] = 1;
      const shape: number[] = [];
      x.shape.forEach((d, i) => {
        if (!mask[i]) shape.push(d);
        else if (attrs.keepDims === true) shape.push(1);
      });
      const out = alloc(size(shape));
      lib.reduce(op, xv, Int32Array.from(x.shape), mask, out);
      return backend.makeTensorInfo(shape, 'float32', out);
    });
  }

  const sliceInto = (
    backend: CpuBackend,
    xv: Float32Array,
    xShape: readonly number[],
    begin: number[],
    sz: number[],
  ): tf.TensorInfo => {
    const out = alloc(size(sz));
    lib.slice(xv, Int32Array.from(xShape), Int32Array.from(begin), Int32Array.from(sz), out);
    return backend.makeTensorInfo(sz, 'float32', out);
  };

  k.set('Slice', (inputs, backend, attrs) => {
    const { x } = inputs;
    const xv = f32(backend, x);
    if (!xv || x.shape.length > 8 || x.shape.length === 0) return null;
    const [begin, sz] = tf.slice_util.parseSliceParams(
      x,
      attrs.begin as number | number[],
      attrs.size as number | number[] | undefined,
    );
    tf.slice_util.assertParamsValid(x, begin, sz);
    return sliceInto(backend, xv, x.shape, begin, sz);
  });

  k.set('SplitV', (inputs, backend, attrs) => {
    const { x } = inputs;
    const xv = f32(backend, x);
    if (!xv || x.shape.length > 8) return null;
    const axis = tf.util.parseAxisParam(attrs.axis as number, [...x.shape])[0];
    const splits = tf.backend_util.prepareSplitSize(
      x,
      attrs.numOrSizeSplits as number | number[],
      axis,
    );
    const begin = new Array<number>(x.shape.length).fill(0);
    return splits.map((s) => {
      const sz = [...x.shape];
      sz[axis] = s;
      const t = sliceInto(backend, xv, x.shape, [...begin], sz);
      begin[axis] += s;
      return t;
    });
  });

  k.set('Concat', (inputs, backend, attrs) => {
    const list = Object.values(inputs);
    if (list.length === 0) return null;
    const axis = tf.util.parseAxisParam(attrs.axis as number, [...list[0].shape])[0];
    const values: Float32Array[] = [];
    for (const t of list) {
      const v = f32(backend, t);
      if (!v) return null;
      values.push(v);
    }
    const shape = tf.backend_util.computeOutShape(
      list.map((t) => [...t.shape]),
      axis,
    );
    const outer = size(shape.slice(0, axis));
    const widths = list.map((t) => size(t.shape.slice(axis)));
    const out = alloc(size(shape));
    lib.concat(values, widths, outer, out);
    return backend.makeTensorInfo(shape, 'float32', out);
  });

  const poolGeom = (c: tf.backend_util.Conv2DInfo): Int32Array | null =>
    c.dilationHeight !== 1 || c.dilationWidth !== 1
      ? null
      : Int32Array.from([
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

  const poolInfo = (shape: readonly number[], attrs: Attrs): tf.backend_util.Conv2DInfo | null =>
    shape.length !== 4
      ? null
      : tf.backend_util.computePool2DInfo(
          [...shape] as Shape4,
          attrs.filterSize as number | [number, number],
          attrs.strides as number | [number, number],
          1,
          attrs.pad as Pad,
          attrs.dimRoundingMode as Rounding,
        );

  k.set('AvgPool', (inputs, backend, attrs) => {
    const { x } = inputs;
    const xv = f32(backend, x);
    const info = poolInfo(x.shape, attrs);
    const g = info && poolGeom(info);
    if (!xv || !info || !g) return null;
    const out = alloc(size(info.outShape));
    lib.avgPool(xv, out, g);
    return backend.makeTensorInfo(info.outShape, 'float32', out);
  });

  k.set('AvgPoolGrad', (inputs, backend, attrs) => {
    const { dy, input } = inputs;
    const dyv = f32(backend, dy);
    const info = poolInfo(input.shape, attrs);
    const g = info && poolGeom(info);
    if (!dyv || !info || !g) return null;
    const out = alloc(size(input.shape));
    lib.avgPoolGrad(dyv, out, g);
    return backend.makeTensorInfo([...input.shape], 'float32', out);
  });

  k.set('ResizeNearestNeighbor', (inputs, backend, attrs) => {
    const { images } = inputs;
    const xv = f32(backend, images);
    if (!xv || images.shape.length !== 4) return null;
    const [n, h, w, c] = images.shape;
    const [nh, nw] = attrs.size as [number, number];
    const { rows, cols } = nearestSourceMaps(h, w, nh, nw, attrs);
    const out = alloc(n * nh * nw * c);
    lib.resizeNearest(xv, out, Int32Array.from([n, h, w, c, nh, nw]), rows, cols);
    return backend.makeTensorInfo([n, nh, nw, c], 'float32', out);
  });

  // The exact adjoint of the forward pass (every dy element added to the pixel it was copied
  // from). tfjs's cpu kernel reads dy with the image's batch stride, so for batch > 1 its
  // result is wrong; this one is checked against the adjoint identity in the spec.
  k.set('ResizeNearestNeighborGrad', (inputs, backend, attrs) => {
    const { images, dy } = inputs;
    const dyv = f32(backend, dy);
    if (!dyv || images.shape.length !== 4 || dy.shape.length !== 4) return null;
    const [n, h, w, c] = images.shape;
    const [, nh, nw] = dy.shape;
    const { rows, cols } = nearestSourceMaps(h, w, nh, nw, attrs);
    const out = alloc(n * h * w * c);
    lib.resizeNearestGrad(dyv, out, Int32Array.from([n, h, w, c, nh, nw]), rows, cols);
    return backend.makeTensorInfo([n, h, w, c], 'float32', out);
  });

  return k;
}

// ---------------------------------------------------------------------------------------------
// Fused layers. tfjs runs GroupNorm as ~10 elementwise and reduction kernels forward and ~30
// backward, and exact GELU as 5 + ~10, each a full pass over memory; these do each in one pass
// forward and one backward on 'native', and fall back to exactly that composition elsewhere.

function activeAddon(): NativeAddon | null {
  return registered && tf.getBackend() === NATIVE_BACKEND ? (addon ?? null) : null;
}

function floatValues(t: tf.Tensor): Float32Array {
  const v = t.dataSync();
  return v instanceof Float32Array ? v : Float32Array.from(v);
}

/**
 * GroupNorm of NHWC `x` with `groups` groups (which must divide the channels), then
 * `· gamma + beta` per channel; biased variance, like `tf.moments`.
 * @example const y = groupNorm(x, gamma, beta, 8); // x [B,H,W,32], gamma/beta [32]
 */
export function groupNorm(
  x: tf.Tensor4D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  groups: number,
  eps = 1e-5,
): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) {
    throw new Error(`groupNorm: groups must divide the ${c} channels (got ${groups})`);
  }
  const lib = activeAddon();
  if (!lib || x.dtype !== 'float32' || gamma.size !== c || beta.size !== c) {
    return tf.tidy(() => {
      const xg = x.reshape([b, h, w, groups, c / groups]);
      const { mean, variance } = tf.moments(xg, [1, 2, 4], true);
      const norm = tf.div(tf.sub(xg, mean), tf.sqrt(tf.add(variance, eps))).reshape([b, h, w, c]);
      return tf.add(tf.mul(norm, gamma), beta) as tf.Tensor4D;
    });
  }
  const dims = Int32Array.from([b, h * w, c, groups]);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xt, gt, bt, save] = args as [tf.Tensor4D, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const mean = new Float32Array(b * groups);
    const rstd = new Float32Array(b * groups);
    const y = alloc(xt.size);
    lib.groupNorm(floatValues(xt), floatValues(gt), floatValues(bt), y, mean, rstd, dims, eps);
    save([xt, gt]);
    return {
      value: tf.tensor4d(y, xt.shape),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xs, gs] = saved;
        const dx = alloc(xs.size);
        const dgamma = new Float32Array(c);
        const dbeta = new Float32Array(c);
        lib.groupNormGrad(
          floatValues(dy as tf.Tensor),
          floatValues(xs),
          floatValues(gs),
          mean,
          rstd,
          dx,
          dgamma,
          dbeta,
          dims,
        );
        return [tf.tensor(dx, xs.shape), tf.tensor(dgamma, gs.shape), tf.tensor(dbeta, gs.shape)];
      },
    };
  });
  return f(x, gamma, beta) as tf.Tensor4D;
}

/**
 * Exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)).
 * @example const y = gelu(tf.tensor([-1, 0, 1])); // ≈ [-0.159, 0, 0.841]
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  const lib = activeAddon();
  if (!lib || x.dtype !== 'float32') {
    return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
  }
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xt, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const y = alloc(xt.size);
    lib.gelu(floatValues(xt), y);
    save([xt]);
    return {
      value: tf.tensor(y, xt.shape),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xs] = saved;
        const dx = alloc(xs.size);
        lib.geluGrad(floatValues(dy as tf.Tensor), floatValues(xs), dx);
        return tf.tensor(dx, xs.shape);
      },
    };
  });
  return f(x);
}

// ---------------------------------------------------------------------------------------------
// Fused optimiser step. tfjs's Adam runs ~13 kernels per weight tensor and an EMA of the
// weights ~4 more, each a full pass with ~10 µs of overhead; on 'native' this does the whole
// update of every tensor in one addon call and one pass over memory.

/** What tf.Optimizer's getWeights/setWeights trade in. */
interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/**
 * The Float32Array a variable's value lives in, made the variable's own first (copied, if
 * another tensor shares its data: a clone, or the tensor it was made from) so that writing it
 * in place changes nothing else. Null when the value is not float32 on a cpu-type backend.
 */
function ownValues(backend: CpuBackend, v: tf.Variable): Float32Array | null {
  const values = f32(backend, v);
  if (!values || backend.data.get(v.dataId)?.values !== values) return null;
  if (backend.refCount(v.dataId) === 1) return values;
  tf.tidy(() => v.assign(tf.tensor(values.slice(), v.shape, 'float32')));
  const own = backend.data.get(v.dataId)?.values;
  return own instanceof Float32Array && backend.refCount(v.dataId) === 1 ? own : null;
}

/**
 * `tf.train.adam(learningRate, beta1, beta2, epsilon)` followed by an exponential moving average
 * of the weights, `ema = decay·ema + (1−decay)·weight`, as one step. On 'native' one addon call
 * updates every weight, both its moments and its EMA in place, rounding each intermediate to
 * float32 in tfjs's order (so it matches tfjs's Adam on the same gradients bit for bit);
 * elsewhere it runs the very composition of tfjs ops that AdamOptimizer.applyGradients runs.
 * `getWeights`/`setWeights` take and give what tf.AdamOptimizer's do: [iterations, first
 * moments…, second moments…], the moments by position in the variable list.
 * @example
 * const opt = new FusedAdamEma(1e-3);
 * const { value, grads } = tf.variableGrads(lossFn, vars);
 * opt.step(vars, vars.map((v) => grads[v.name]), emas, 0.99);
 */
export class FusedAdamEma {
  /** Steps taken (restored by setWeights). */
  iterations = 0;
  // beta1ᵗ and beta2ᵗ at the next step, as float32 values (tfjs keeps them in scalar variables).
  private accBeta1: number;
  private accBeta2: number;
  private m: { name: string; variable: tf.Variable }[] = [];
  private v: { name: string; variable: tf.Variable }[] = [];

  constructor(
    readonly learningRate: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-7,
  ) {
    this.accBeta1 = Math.fround(beta1);
    this.accBeta2 = Math.fround(beta2);
  }

  /**
   * One Adam step on `vars` with `grads` (same order; a missing gradient leaves its weight
   * unchanged, as tfjs does), then the EMA update of `emas[i]` towards `vars[i]` for every i.
   */
  step(
    vars: tf.Variable[],
    grads: (tf.Tensor | undefined)[],
    emas: tf.Variable[],
    decay: number,
  ): void {
    if (grads.length !== vars.length || emas.length !== vars.length) {
      throw new Error('FusedAdamEma.step: vars, grads and emas must be equally long');
    }
    vars.forEach((x, i) => {
      // Like tfjs: zero moments, created at a weight's first step, owning their storage.
      this.m[i] ??= {
        name: `${x.name}/m`,
        variable: tf.tidy(() => tf.zerosLike(x).variable(false)),
      };
      this.v[i] ??= {
        name: `${x.name}/v`,
        variable: tf.tidy(() => tf.zerosLike(x).variable(false)),
      };
    });
    if (!this.stepNative(vars, grads, emas, decay)) this.stepOps(vars, grads, emas, decay);
    this.accBeta1 = Math.fround(this.accBeta1 * Math.fround(this.beta1));
    this.accBeta2 = Math.fround(this.accBeta2 * Math.fround(this.beta2));
    this.iterations++;
  }

  private coefficients(decay: number): Float32Array {
    const { beta1: b1, beta2: b2 } = this;
    return Float32Array.of(
      b1,
      1 - b1,
      b2,
      1 - b2,
      1 - this.accBeta1,
      1 - this.accBeta2,
      this.epsilon,
      -this.learningRate,
      decay,
      1 - decay,
    );
  }

  private stepNative(
    vars: tf.Variable[],
    grads: (tf.Tensor | undefined)[],
    emas: tf.Variable[],
    decay: number,
  ): boolean {
    const lib = activeAddon();
    if (!lib) return false;
    const backend = tf.backend() as unknown as CpuBackend;
    const lists: [Float32Array[], Float32Array[], Float32Array[], Float32Array[], Float32Array[]] =
      [[], [], [], [], []];
    const gradless: number[] = [];
    for (let i = 0; i < vars.length; i++) {
      const g = grads[i];
      if (!g) {
        gradless.push(i);
        continue;
      }
      const row = [
        ownValues(backend, vars[i]),
        f32(backend, g),
        ownValues(backend, this.m[i].variable),
        ownValues(backend, this.v[i].variable),
        ownValues(backend, emas[i]),
      ];
      const n = vars[i].size;
      if (row.some((a) => !a || a.length !== n)) return false;
      row.forEach((a, k) => lists[k].push(a as Float32Array));
    }
    lib.adamEma(...lists, this.coefficients(decay));
    // A weight without a gradient keeps its value; its EMA still moves towards it.
    if (gradless.length > 0) {
      tf.tidy(() => {
        for (const i of gradless) emaOps(emas[i], vars[i], decay);
      });
    }
    return true;
  }

  /** AdamOptimizer.applyGradients's ops, then the EMA's. */
  private stepOps(
    vars: tf.Variable[],
    grads: (tf.Tensor | undefined)[],
    emas: tf.Variable[],
    decay: number,
  ): void {
    tf.tidy(() => {
      const oneMinusAcc1 = tf.sub(1, tf.scalar(this.accBeta1));
      const oneMinusAcc2 = tf.sub(1, tf.scalar(this.accBeta2));
      vars.forEach((x, i) => {
        const g = grads[i];
        if (!g) return;
        const m = this.m[i].variable;
        const v = this.v[i].variable;
        const m1 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const v1 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        const mHat = tf.div(m1, oneMinusAcc1);
        const vHat = tf.div(v1, oneMinusAcc2);
        m.assign(m1);
        v.assign(v1);
        const step = tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), this.epsilon)), -this.learningRate);
        x.assign(tf.add(step, x));
      });
    });
    tf.tidy(() => vars.forEach((x, i) => emaOps(emas[i], x, decay)));
  }

  /** [iterations (a new int32 scalar), first moments…, second moments…] (the moments its own). */
  async getWeights(): Promise<NamedTensor[]> {
    const moments = [...this.m, ...this.v].map((w) => ({ name: w.name, tensor: w.variable }));
    return [{ name: 'iter', tensor: tf.scalar(this.iterations, 'int32') }, ...moments];
  }

  /** Restores what getWeights gave (the caller may dispose its tensors afterwards). */
  async setWeights(weights: NamedTensor[]): Promise<void> {
    if (weights.length === 0 || weights.length % 2 !== 1) {
      throw new Error('FusedAdamEma.setWeights: expected [iterations, m…, v…]');
    }
    this.iterations = (await weights[0].tensor.data())[0];
    // As AdamOptimizer.setWeights: beta^(iterations+1) through tf.pow, not repeated products.
    [this.accBeta1, this.accBeta2] = tf.tidy(() => [
      tf.pow(this.beta1, this.iterations + 1).dataSync()[0],
      tf.pow(this.beta2, this.iterations + 1).dataSync()[0],
    ]);
    this.disposeMoments();
    const half = (weights.length - 1) / 2;
    // Shares the data with w.tensor until the first step's ownValues copies it.
    const adopt = (w: NamedTensor): { name: string; variable: tf.Variable } => ({
      name: w.name,
      variable: w.tensor.variable(false),
    });
    this.m = weights.slice(1, 1 + half).map(adopt);
    this.v = weights.slice(1 + half).map(adopt);
  }

  dispose(): void {
    this.disposeMoments();
  }

  private disposeMoments(): void {
    tf.dispose([...this.m, ...this.v].map((w) => w.variable));
    this.m = [];
    this.v = [];
  }
}

function emaOps(ema: tf.Variable, x: tf.Tensor, decay: number): void {
  ema.assign(tf.add(tf.mul(ema, decay), tf.mul(x, 1 - decay)));
}

/**
 * A FusedAdamEma when the 'native' backend is active, else null (use tf.train.adam there).
 * @example const opt = createFusedAdamEma(1e-3) ?? tf.train.adam(1e-3);
 */
export function createFusedAdamEma(learningRate: number): FusedAdamEma | null {
  return activeAddon() ? new FusedAdamEma(learningRate) : null;
}
