/**
 * Fused attention for any backend, on plain arrays: q, k, v [b, n, heads·d]. Each query's
 * scores are formed whole (one row of n at a time, in float64) and never stored beyond it;
 * the native kernels (native/attention.cc) tile the same computation.
 */

/** Attention geometry: batch, positions, heads, head size. */
export interface AttentionDims {
  b: number;
  n: number;
  heads: number;
  d: number;
}

/** The score scale, 1/√d rounded to float32 as the native kernel rounds it. */
function scaleOf(d: number): number {
  return Math.fround(1 / Math.fround(Math.sqrt(d)));
}

/** One query's scores against every key of its head (into `s`); returns their maximum. */
function scoresOf(
  q: Float32Array,
  k: Float32Array,
  at: number,
  head0: number,
  { n, heads, d }: AttentionDims,
  s: Float64Array,
): number {
  const c = heads * d;
  const scale = scaleOf(d);
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    let dot = 0;
    for (let x = 0; x < d; x++) dot += q[at + x] * k[head0 + j * c + x];
    s[j] = dot * scale;
    if (s[j] > max) max = s[j];
  }
  return max;
}

/** o = softmax(q kᵀ/√d) v per head, and lse [b, heads, n]. */
export function attentionValues(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  dims: AttentionDims,
): { o: Float32Array; lse: Float32Array } {
  const { b, n, heads, d } = dims;
  const c = heads * d;
  const o = new Float32Array(b * n * c);
  const lse = new Float32Array(b * heads * n);
  const s = new Float64Array(n);
  const acc = new Float64Array(d);
  for (let img = 0; img < b; img++) {
    for (let h = 0; h < heads; h++) {
      const head0 = img * n * c + h * d;
      for (let i = 0; i < n; i++) {
        const at = head0 + i * c;
        const max = scoresOf(q, k, at, head0, dims, s);
        let sum = 0;
        acc.fill(0);
        for (let j = 0; j < n; j++) {
          const e = Math.exp(s[j] - max);
          sum += e;
          for (let x = 0; x < d; x++) acc[x] += e * v[head0 + j * c + x];
        }
        for (let x = 0; x < d; x++) o[at + x] = acc[x] / sum;
        lse[(img * heads + h) * n + i] = max + Math.log(sum);
      }
    }
  }
  return { o, lse };
}

/** The gradient of attentionValues from dy (and its o and lse): dq, dk, dv. */
export function attentionGradValues(
  dy: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  o: Float32Array,
  lse: Float32Array,
  dims: AttentionDims,
): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
  const { b, n, heads, d } = dims;
  const c = heads * d;
  const scale = scaleOf(d);
  const dq = new Float64Array(b * n * c);
  const dk = new Float64Array(b * n * c);
  const dv = new Float64Array(b * n * c);
  const s = new Float64Array(n);
  for (let img = 0; img < b; img++) {
    for (let h = 0; h < heads; h++) {
      const head0 = img * n * c + h * d;
      for (let i = 0; i < n; i++) {
        const at = head0 + i * c;
        scoresOf(q, k, at, head0, dims, s);
        const l = lse[(img * heads + h) * n + i];
        let rowTerm = 0;
        for (let x = 0; x < d; x++) rowTerm += dy[at + x] * o[at + x];
        for (let j = 0; j < n; j++) {
          const kj = head0 + j * c;
          const p = Math.exp(s[j] - l);
          let dp = 0;
          for (let x = 0; x < d; x++) dp += dy[at + x] * v[kj + x];
          const ds = p * (dp - rowTerm) * scale;
          for (let x = 0; x < d; x++) {
            dv[kj + x] += p * dy[at + x];
            dk[kj + x] += ds * q[at + x];
            dq[at + x] += ds * k[kj + x];
          }
        }
      }
    }
  }
  return { dq: Float32Array.from(dq), dk: Float32Array.from(dk), dv: Float32Array.from(dv) };
}
