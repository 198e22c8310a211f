import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot } from '../../runtime/package-root.js';
import type { BilinearArgs } from '../resize-bilinear-maps.js';
import { NATIVE_OPS } from './op-codes.js';

/**
 * The functions the `phasewatch_native` N-API addon exports (native/addon.cc). Every kernel
 * reads Float32Arrays in place and writes a preallocated output; a bad argument throws a
 * TypeError naming the entry.
 */
export interface NativeAddon {
  conv2d(x: Float32Array, filter: Float32Array, y: Float32Array, geom: Int32Array): void;
  conv2dBackpropInput(
    dy: Float32Array,
    filter: Float32Array,
    dx: Float32Array,
    geom: Int32Array,
  ): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, df: Float32Array, geom: Int32Array): void;
  /** params: batch, m, n, k, a's batch stride, b's batch stride, transposeA, transposeB. */
  batchMatMul(a: Float32Array, b: Float32Array, c: Float32Array, params: Int32Array): void;
  /** `op` from NATIVE_OPS.binary; numpy broadcasting, shapes right-aligned to the output's. */
  binary(
    op: number,
    a: Float32Array,
    aShape: Int32Array,
    b: Float32Array,
    bShape: Int32Array,
    out: Float32Array,
    outShape: Int32Array,
  ): void;
  /** `op` from NATIVE_OPS.unary; p0, p1 are ClipByValue's bounds. */
  unary(op: number, x: Float32Array, out: Float32Array, p0?: number, p1?: number): void;
  /** `op` from NATIVE_OPS.reduce, over the axes whose mask entry is 1. */
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
  maxPool(x: Float32Array, y: Float32Array, geom: Int32Array): void;
  maxPoolGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, geom: Int32Array): void;
  /** geom n,h,w,c,ho,wo; per output row and column its two sources and the second's weight. */
  resizeBilinear(x: Float32Array, y: Float32Array, ...geometry: BilinearArgs): void;
  resizeBilinearGrad(dy: Float32Array, dx: Float32Array, ...geometry: BilinearArgs): void;
  /**
   * dims: batch, height·width, channels, groups, and 1 to apply GELU after; writes y and the
   * [batch, groups] statistics.
   */
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
    beta: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    dims: Int32Array,
  ): void;
  gelu(x: Float32Array, y: Float32Array): void;
  geluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  /** dims: rows, columns; softmax over each row. */
  softmax(x: Float32Array, y: Float32Array, dims: Int32Array): void;
  /**
   * dims: batch, positions n, heads, head size d; qkv is [batch, n, 3·heads·d] (q, k and v
   * packed), o [batch, n, heads·d], lse [batch, heads, n] (the log of each softmax row's
   * normaliser).
   */
  attention(qkv: Float32Array, o: Float32Array, lse: Float32Array, dims: Int32Array): void;
  /** The gradient of `attention` from dy, as dqkv in qkv's layout (dims as for attention). */
  attentionGrad(
    qkv: Float32Array,
    o: Float32Array,
    lse: Float32Array,
    dy: Float32Array,
    dqkv: Float32Array,
    dims: Int32Array,
  ): void;
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
  /**
   * The double-conv block (native/block.h): geom1, geom2 the two convolutions' geometries (as
   * for conv2d), params groups1, groups2, residual, bias, inputGrad (each 0/1); bias
   * [batch, cout] or empty; writes y, the convolution outputs h1, h2 and the [batch, groups]
   * statistics.
   */
  convBlock(
    x: Float32Array,
    w1: Float32Array,
    gamma1: Float32Array,
    beta1: Float32Array,
    w2: Float32Array,
    gamma2: Float32Array,
    beta2: Float32Array,
    bias: Float32Array,
    y: Float32Array,
    h1: Float32Array,
    h2: Float32Array,
    mean1: Float32Array,
    rstd1: Float32Array,
    mean2: Float32Array,
    rstd2: Float32Array,
    geom1: Int32Array,
    geom2: Int32Array,
    params: Int32Array,
    eps: number,
  ): void;
  /**
   * convBlock's gradient from dy and the forward's saved arrays; dbias empty without a bias, dx
   * empty (and not computed) without inputGrad.
   */
  convBlockGrad(
    dy: Float32Array,
    x: Float32Array,
    w1: Float32Array,
    gamma1: Float32Array,
    beta1: Float32Array,
    w2: Float32Array,
    gamma2: Float32Array,
    beta2: Float32Array,
    h1: Float32Array,
    h2: Float32Array,
    mean1: Float32Array,
    rstd1: Float32Array,
    mean2: Float32Array,
    rstd2: Float32Array,
    dx: Float32Array,
    dw1: Float32Array,
    dgamma1: Float32Array,
    dbeta1: Float32Array,
    dw2: Float32Array,
    dgamma2: Float32Array,
    dbeta2: Float32Array,
    dbias: Float32Array,
    geom1: Int32Array,
    geom2: Int32Array,
    params: Int32Array,
    eps: number,
  ): void;
  /** Threads used per kernel; with an argument, sets it first. */
  threads(n?: number): number;
  /** The op names the addon was built with, by code (native/ops_generated.h). */
  readonly opTable: { binary: string[]; unary: string[]; reduce: string[] };
}

const ADDON_FILE = path.join('build', 'Release', 'phasewatch_native.node');

let addon: NativeAddon | null | undefined;
let reason = '';

/**
 * Loads the addon once; null when it is not built, does not load, or was built from another
 * op table (`nativeUnavailableReason()` then says why, on one line).
 * @example const a = loadNativeAddon(); if (a) a.threads(2);
 */
export function loadNativeAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env.PHASEWATCH_NATIVE === '0') {
    reason = 'PHASEWATCH_NATIVE=0 turns the native backend off; unset it to use the native backend';
    return addon;
  }
  try {
    const file = path.join(packageRoot(), ADDON_FILE);
    if (!existsSync(file)) {
      reason = `the native addon is not built (no ${ADDON_FILE}); ${BUILD_IT}`;
      return addon;
    }
    const loaded = createRequire(import.meta.url)(file) as NativeAddon;
    const stale = opTableMismatch(loaded.opTable);
    if (stale) reason = `the native addon was built from another op table (${stale}); ${BUILD_IT}`;
    else addon = loaded;
  } catch (err) {
    reason = `the native addon did not load (${firstLine(err)}); ${BUILD_IT}`;
  }
  return addon;
}

const BUILD_IT =
  'build it with `npm rebuild phasewatch` (in a clone: `npm run build:native`; needs python3, make and g++)';

/**
 * Why the native backend is unavailable, on one line with the fix; '' when it loads.
 * @example if (!loadNativeAddon()) console.warn(nativeUnavailableReason());
 */
export function nativeUnavailableReason(): string {
  return loadNativeAddon() ? '' : reason;
}

/**
 * Where an addon's reported op table differs from NATIVE_OPS, or '' when it matches.
 * @internal
 */
export function opTableMismatch(reported: unknown): string {
  if (typeof reported !== 'object' || reported === null) return 'it reports none';
  const table = reported as Record<string, unknown>;
  for (const [group, names] of Object.entries(NATIVE_OPS)) {
    const got = table[group];
    if (!Array.isArray(got) || got.join() !== names.join()) {
      return `${group}: ${Array.isArray(got) ? got.join(',') : 'missing'}`;
    }
  }
  return '';
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}
