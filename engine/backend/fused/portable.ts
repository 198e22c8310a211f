import * as tf from '@tensorflow/tfjs';
import type { GroupNormActivation } from './kernel-names.js';

/**
 * The fused kernels' implementations for any backend: they read their inputs with
 * `readSync` and write their outputs with `write`, which every tfjs backend has. Written
 * like the C++ kernels (statistics accumulated in doubles, two passes, float32 rounding where
 * the C++ rounds, a multiply-add rounded once as the compiler fuses it), so both agree to a
 * few ulps.
 */
export interface PortableBackend {
  readSync(dataId: object): unknown;
  write(values: Float32Array, shape: number[], dtype: 'float32'): object;
}

export function read(backend: PortableBackend, t: tf.TensorInfo): Float32Array {
  const v = backend.readSync(t.dataId);
  if (v instanceof Float32Array) return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    return Float32Array.from(v as unknown as ArrayLike<number>);
  }
  throw new Error(`phasewatch: fused kernel input is ${t.dtype}, not float32`);
}

export function output(
  backend: PortableBackend,
  values: Float32Array,
  shape: readonly number[],
): tf.TensorInfo {
  const s = [...shape];
  return { dataId: backend.write(values, s, 'float32'), shape: s, dtype: 'float32' };
}

/** erf by Abramowitz & Stegun 7.1.26, the formula of tfjs's Erf kernel and the addon's. */
export function erf(x: number): number {
  const v = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * v);
  const poly =
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  const y = 1 - poly * Math.exp(-v * v);
  return x < 0 ? -y : y;
}

/** GroupNorm of x viewed as [b, hw, c]: writes y and the [b, groups] mean and rstd. */
export function groupNormValues(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  b: number,
  hw: number,
  c: number,
  groups: number,
  eps: number,
  activation: GroupNormActivation = 'none',
): { y: Float32Array; mean: Float32Array; rstd: Float32Array } {
  const cg = c / groups;
  const count = hw * cg;
  const epsf = Math.fround(eps);
  const y = new Float32Array(b * hw * c);
  const mean = new Float32Array(b * groups);
  const rstd = new Float32Array(b * groups);
  const s = new Float64Array(c);
  const ss = new Float64Array(c);
  const mc = new Float32Array(c);
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < b; i++) {
    const base = i * hw * c;
    s.fill(0);
    ss.fill(0);
    for (let p = 0; p < hw; p++) for (let k = 0; k < c; k++) s[k] += x[base + p * c + k];
    for (let q = 0; q < groups; q++) {
      let t = 0;
      for (let k = q * cg; k < (q + 1) * cg; k++) t += s[k];
      mean[i * groups + q] = t / count;
    }
    for (let k = 0; k < c; k++) mc[k] = mean[i * groups + Math.floor(k / cg)];
    for (let p = 0; p < hw; p++) {
      for (let k = 0; k < c; k++) {
        const d = x[base + p * c + k] - mc[k];
        ss[k] += d * d;
      }
    }
    for (let q = 0; q < groups; q++) {
      let t = 0;
      for (let k = q * cg; k < (q + 1) * cg; k++) t += ss[k];
      const variance = Math.fround(t / count);
      rstd[i * groups + q] = 1 / Math.fround(Math.sqrt(Math.fround(variance + epsf)));
    }
    for (let k = 0; k < c; k++) {
      scale[k] = rstd[i * groups + Math.floor(k / cg)] * gamma[k];
      shift[k] = beta[k] - mc[k] * scale[k];
    }
    for (let p = 0; p < hw; p++) {
      for (let k = 0; k < c; k++) {
        const j = base + p * c + k;
        y[j] = x[j] * scale[k] + shift[k];
        if (activation === 'gelu') y[j] = geluValue(y[j]);
      }
    }
  }
  return { y, mean, rstd };
}

/**
 * GroupNorm's gradient: dx [b, hw, c], dgamma and dbeta [c]. Given beta, the GroupNorm was
 * followed by a GELU: dy is first taken back through it, at the pre-activation recomputed.
 */
export function groupNormGradValues(
  dyOut: Float32Array,
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array | null,
  mean: Float32Array,
  rstd: Float32Array,
  b: number,
  hw: number,
  c: number,
  groups: number,
): { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array } {
  const cg = c / groups;
  const count = hw * cg;
  const dy = beta ? throughGelu(dyOut, x, gamma, beta, mean, rstd, b, hw, c, groups) : dyOut;
  const dx = new Float32Array(b * hw * c);
  const dgamma = new Float64Array(c);
  const dbeta = new Float64Array(c);
  const mc = new Float32Array(c);
  const rc = new Float32Array(c);
  const sdy = new Float64Array(c);
  const sdyx = new Float64Array(c);
  const a = new Float32Array(c);
  const bb = new Float32Array(c);
  for (let i = 0; i < b; i++) {
    const base = i * hw * c;
    for (let k = 0; k < c; k++) {
      mc[k] = mean[i * groups + Math.floor(k / cg)];
      rc[k] = rstd[i * groups + Math.floor(k / cg)];
    }
    sdy.fill(0);
    sdyx.fill(0);
    for (let p = 0; p < hw; p++) {
      for (let k = 0; k < c; k++) {
        const j = base + p * c + k;
        const xh = Math.fround(Math.fround(x[j] - mc[k]) * rc[k]);
        sdy[k] += dy[j];
        sdyx[k] += dy[j] * xh;
      }
    }
    for (let q = 0; q < groups; q++) {
      let s1 = 0;
      let s2 = 0;
      for (let k = q * cg; k < (q + 1) * cg; k++) {
        s1 += sdy[k] * gamma[k];
        s2 += sdyx[k] * gamma[k];
      }
      for (let k = q * cg; k < (q + 1) * cg; k++) {
        a[k] = s1 / count;
        bb[k] = s2 / count;
      }
    }
    for (let k = 0; k < c; k++) {
      dgamma[k] += sdyx[k];
      dbeta[k] += sdy[k];
    }
    // dx = rstd·(dy·gamma − mean(dxhat) − xhat·mean(dxhat·xhat)).
    for (let p = 0; p < hw; p++) {
      for (let k = 0; k < c; k++) {
        const j = base + p * c + k;
        const xh = Math.fround(Math.fround(x[j] - mc[k]) * rc[k]);
        const t = Math.fround(Math.fround(dy[j] * gamma[k] - a[k]) - xh * bb[k]);
        dx[j] = rc[k] * t;
      }
    }
  }
  return { dx, dgamma: Float32Array.from(dgamma), dbeta: Float32Array.from(dbeta) };
}

/** dy·GELU'(z) at z = x·scale + shift, the GroupNorm's output as its forward pass computed it. */
function throughGelu(
  dy: Float32Array,
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  b: number,
  hw: number,
  c: number,
  groups: number,
): Float32Array {
  const cg = c / groups;
  const dz = new Float32Array(dy.length);
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < b; i++) {
    for (let k = 0; k < c; k++) {
      const q = i * groups + Math.floor(k / cg);
      scale[k] = rstd[q] * gamma[k];
      shift[k] = beta[k] - mean[q] * scale[k];
    }
    for (let p = 0; p < hw; p++) {
      for (let k = 0; k < c; k++) {
        const j = (i * hw + p) * c + k;
        dz[j] = dy[j] * geluSlope(Math.fround(x[j] * scale[k] + shift[k]));
      }
    }
  }
  return dz;
}

function geluValue(v: number): number {
  return 0.5 * v * (1 + erf(v * Math.SQRT1_2));
}

/** GELU'(v) = Φ(v) + v·φ(v). */
function geluSlope(v: number): number {
  const cdf = 0.5 * (1 + erf(v * Math.SQRT1_2));
  const pdf = INV_SQRT_2PI * Math.exp(-0.5 * v * v);
  return cdf + v * pdf;
}
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export function geluValues(x: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = geluValue(x[i]);
  return y;
}

export function geluGradValues(dy: Float32Array, x: Float32Array): Float32Array {
  const dx = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) dx[i] = dy[i] * geluSlope(x[i]);
  return dx;
}

type ConvInfo = tf.backend_util.Conv2DInfo;

/**
 * Calls visit(xAt, yAt, wAt) for every (output pixel, filter tap) pair of convolution `c`
 * whose input pixel is inside the image: xAt, yAt and wAt are the offsets of that input
 * pixel's channels, the output pixel's channels and the tap's [ci, co] filter slice.
 */
function forEachTap(c: ConvInfo, visit: (xAt: number, yAt: number, wAt: number) => void): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = c;
  const { top, left } = c.padInfo;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < c.outHeight; oy++) {
      for (let ox = 0; ox < c.outWidth; ox++) {
        const yAt = ((b * c.outHeight + oy) * c.outWidth + ox) * co;
        for (let ky = 0; ky < c.filterHeight; ky++) {
          const iy = oy * c.strideHeight - top + ky * c.dilationHeight;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < c.filterWidth; kx++) {
            const ix = ox * c.strideWidth - left + kx * c.dilationWidth;
            if (ix < 0 || ix >= w) continue;
            visit(((b * h + iy) * w + ix) * ci, yAt, (ky * c.filterWidth + kx) * ci * co);
          }
        }
      }
    }
  }
}

/** An NHWC convolution y = conv(x, f) of geometry c. */
export function convValues(x: Float32Array, f: Float32Array, c: ConvInfo): Float32Array {
  const { inChannels: ci, outChannels: co } = c;
  const y = new Float64Array(c.batchSize * c.outHeight * c.outWidth * co);
  forEachTap(c, (xAt, yAt, wAt) => {
    for (let i = 0; i < ci; i++) {
      const v = x[xAt + i];
      for (let o = 0; o < co; o++) y[yAt + o] += v * f[wAt + i * co + o];
    }
  });
  return Float32Array.from(y);
}

/** The convolution's input gradient dx from dy. */
export function convInputGradValues(dy: Float32Array, f: Float32Array, c: ConvInfo): Float32Array {
  const { inChannels: ci, outChannels: co } = c;
  const dx = new Float64Array(c.batchSize * c.inHeight * c.inWidth * ci);
  forEachTap(c, (xAt, yAt, wAt) => {
    for (let i = 0; i < ci; i++) {
      let s = 0;
      for (let o = 0; o < co; o++) s += dy[yAt + o] * f[wAt + i * co + o];
      dx[xAt + i] += s;
    }
  });
  return Float32Array.from(dx);
}

/** The convolution's filter gradient from x and dy. */
export function convFilterGradValues(x: Float32Array, dy: Float32Array, c: ConvInfo): Float32Array {
  const { inChannels: ci, outChannels: co } = c;
  const df = new Float64Array(c.filterHeight * c.filterWidth * ci * co);
  forEachTap(c, (xAt, yAt, wAt) => {
    for (let i = 0; i < ci; i++) {
      const v = x[xAt + i];
      for (let o = 0; o < co; o++) df[wAt + i * co + o] += v * dy[yAt + o];
    }
  });
  return Float32Array.from(df);
}

/** A ConvBlock's weights (bias [b, cout] or null) and shape. */
export interface ConvBlockValuesArgs {
  w1: Float32Array;
  gamma1: Float32Array;
  beta1: Float32Array;
  w2: Float32Array;
  gamma2: Float32Array;
  beta2: Float32Array;
  bias: Float32Array | null;
  conv1: ConvInfo;
  conv2: ConvInfo;
  groups1: number;
  groups2: number;
  eps: number;
  residual: boolean;
}

/** What a ConvBlock's forward pass keeps for its gradient. */
export interface ConvBlockSaved {
  h1: Float32Array;
  h2: Float32Array;
  mean1: Float32Array;
  rstd1: Float32Array;
  mean2: Float32Array;
  rstd2: Float32Array;
}

/** GroupNorm (+GELU) of conv `k`'s output h, with that GroupNorm's weights. */
function blockNorm(
  h: Float32Array,
  a: ConvBlockValuesArgs,
  k: 1 | 2,
  activation: GroupNormActivation,
) {
  const c = k === 1 ? a.conv1 : a.conv2;
  const [gamma, beta, groups] =
    k === 1 ? [a.gamma1, a.beta1, a.groups1] : [a.gamma2, a.beta2, a.groups2];
  const hw = c.outHeight * c.outWidth;
  return groupNormValues(h, gamma, beta, c.batchSize, hw, c.outChannels, groups, a.eps, activation);
}

/** x + GroupNorm2(h2), a residual block's pre-activation, with that GroupNorm's statistics. */
function residualSum(x: Float32Array, h2: Float32Array, a: ConvBlockValuesArgs) {
  const n2 = blockNorm(h2, a, 2, 'none');
  for (let i = 0; i < n2.y.length; i++) n2.y[i] = x[i] + n2.y[i];
  return n2;
}

/** The double-conv block (kernel-names.ts ConvBlock): y and what its gradient needs. */
export function convBlockValues(
  x: Float32Array,
  a: ConvBlockValuesArgs,
): { y: Float32Array } & ConvBlockSaved {
  const h1 = convValues(x, a.w1, a.conv1);
  const n1 = blockNorm(h1, a, 1, 'gelu');
  const h2 = convValues(n1.y, a.w2, a.conv2);
  const saved = { h1, h2, mean1: n1.mean, rstd1: n1.rstd };
  if (a.residual) {
    const z = residualSum(x, h2, a);
    return { ...saved, y: geluValues(z.y), mean2: z.mean, rstd2: z.rstd };
  }
  const n2 = blockNorm(h2, a, 2, 'gelu');
  if (a.bias) {
    const co = a.conv2.outChannels;
    const per = a.conv2.outHeight * a.conv2.outWidth * co;
    for (let i = 0; i < n2.y.length; i++) {
      n2.y[i] += a.bias[Math.floor(i / per) * co + (i % co)];
    }
  }
  return { ...saved, y: n2.y, mean2: n2.mean, rstd2: n2.rstd };
}

/** The double-conv block's gradient (a.bias is not read; dbias null unless `hasBias`). */
export function convBlockGradValues(
  dy: Float32Array,
  x: Float32Array,
  a: ConvBlockValuesArgs,
  s: ConvBlockSaved,
  hasBias: boolean,
): {
  dx: Float32Array;
  dw1: Float32Array;
  dgamma1: Float32Array;
  dbeta1: Float32Array;
  dw2: Float32Array;
  dgamma2: Float32Array;
  dbeta2: Float32Array;
  dbias: Float32Array | null;
} {
  const { conv1: c1, conv2: c2 } = a;
  const hw1 = c1.outHeight * c1.outWidth;
  const hw2 = c2.outHeight * c2.outWidth;
  const b = c1.batchSize;
  const a1 = blockNorm(s.h1, a, 1, 'gelu').y;
  const dz = a.residual ? geluGradValues(dy, residualSum(x, s.h2, a).y) : dy;
  const g2 = groupNormGradValues(
    dz,
    s.h2,
    a.gamma2,
    a.residual ? null : a.beta2,
    s.mean2,
    s.rstd2,
    b,
    hw2,
    c2.outChannels,
    a.groups2,
  );
  let dbias: Float32Array | null = null;
  if (hasBias) {
    const co = c2.outChannels;
    const sums = new Float64Array(b * co);
    for (let i = 0; i < dy.length; i++) sums[Math.floor(i / (hw2 * co)) * co + (i % co)] += dy[i];
    dbias = Float32Array.from(sums);
  }
  const da1 = convInputGradValues(g2.dx, a.w2, c2);
  const g1 = groupNormGradValues(
    da1,
    s.h1,
    a.gamma1,
    a.beta1,
    s.mean1,
    s.rstd1,
    b,
    hw1,
    c1.outChannels,
    a.groups1,
  );
  const dx = convInputGradValues(g1.dx, a.w1, c1);
  if (a.residual) for (let i = 0; i < dx.length; i++) dx[i] = dz[i] + dx[i];
  return {
    dx,
    dw1: convFilterGradValues(x, g1.dx, c1),
    dgamma1: g1.dgamma,
    dbeta1: g1.dbeta,
    dw2: convFilterGradValues(a1, g2.dx, c2),
    dgamma2: g2.dgamma,
    dbeta2: g2.dbeta,
    dbias,
  };
}
