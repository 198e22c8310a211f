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
