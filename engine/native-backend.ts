import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/**
 * The 'native' tfjs backend: the pure-JS cpu backend with its hot kernels (convolutions and
 * their gradients, matMul, and the memory-bound ops the UNet spends its time in) replaced by
 * C++ kernels from the `phasewatch_native` N-API addon, threaded over every core.
 * Tensors live in the same TypedArrays as on 'cpu', so the addon reads and writes them in place.
 */

/** The functions the addon exports (see native/addon.cc). */
export interface NativeAddon {
  conv2d(x: Float32Array, filter: Float32Array, y: Float32Array, geom: Int32Array): void;
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, geom: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, df: Float32Array, geom: Int32Array): void;
  batchMatMul(a: Float32Array, b: Float32Array, c: Float32Array, params: Int32Array): void;
  /** Threads used per kernel; with an argument, sets it first. */
  threads(n?: number): number;
}

/** The parts of tfjs-backend-cpu's MathBackendCPU that the native kernels touch. */
interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  readSync(dataId: object): unknown;
}

type Attrs = Record<string, unknown>;
type Inputs = Record<string, tf.TensorInfo>;
type NativeKernel = (inputs: Inputs, backend: CpuBackend, attrs: Attrs) => tf.TensorInfo | null;

export const NATIVE_BACKEND = 'native';
const ADDON_RELATIVE = '../build/Release/phasewatch_native.node';

let addon: NativeAddon | null | undefined;
let registered = false;
let warned = false;

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
      console.warn('phasewatch: the tfjs cpu backend is missing; native kernels are not registered');
    }
    return false;
  }
  // A fresh MathBackendCPU instance: the cpu kernels run on it unchanged, ours replace some.
  tf.registerBackend(NATIVE_BACKEND, cpuFactory, 0);
  const overrides = nativeKernels(lib);
  for (const config of tf.getKernelsForBackend('cpu')) {
    const override = overrides.get(config.kernelName);
    const cpuFunc = config.kernelFunc;
    const kernelFunc: tf.KernelFunc = override
      ? (params) => {
          const backend = params.backend as CpuBackend;
          const attrs = (params.attrs ?? {}) as Attrs;
          const out = override(params.inputs as Inputs, backend, attrs);
          return out ?? cpuFunc(params);
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
  const v = backend.data.get(t.dataId).values;
  if (v instanceof Float32Array) return v;
  const read = backend.readSync(t.dataId);
  return read instanceof Float32Array ? read : null;
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
    const out = new Float32Array(size(info.outShape));
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
    const out = new Float32Array(size(inputShape));
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
    const out = new Float32Array(size(filterShape));
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
    const out = new Float32Array(batch * m * n);
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

  return k;
}
