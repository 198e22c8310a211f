/**
 * Fused attention for any backend, on plain arrays: q, k, v packed as qkv [b, n, 3·heads·d]
 * (q's channels, then k's, then v's). Each query's scores are formed whole (one row of n at a
 * time, in float64) and never stored beyond it; the native kernels (native/attention.cc) tile
 * the same computation.
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

/**
 * One query's scores against every key of its head (into `s`); returns their maximum. The
 * query's channels start at qkv[at], the head's first key's at qkv[k0], keys 3·heads·d apart.
 */
function scoresOf(
  qkv: Float32Array,
  at: number,
  k0: number,
  { n, heads, d }: AttentionDims,
  s: Float64Array,
): number {
  const ld = 3 * heads * d;
  const scale = scaleOf(d);
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    let dot = 0;
    for (let x = 0; x < d; x++) dot += qkv[at + x] * qkv[k0 + j * ld + x];
    s[j] = dot * scale;
    if (s[j] > max) max = s[j];
  }
  return max;
}

/** o = softmax(q kᵀ/√d) v per head ([b, n, heads·d]), and lse [b, heads, n]. */
export function attentionValues(
  qkv: Float32Array,
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
      const q0 = img * n * 3 * c + h * d; // the head's first query; its keys at + c, values + 2c
      for (let i = 0; i < n; i++) {
        const max = scoresOf(qkv, q0 + i * 3 * c, q0 + c, dims, s);
        let sum = 0;
        acc.fill(0);
        for (let j = 0; j < n; j++) {
          const e = Math.exp(s[j] - max);
          sum += e;
          const vj = q0 + 2 * c + j * 3 * c;
          for (let x = 0; x < d; x++) acc[x] += e * qkv[vj + x];
        }
        const at = img * n * c + i * c + h * d;
        for (let x = 0; x < d; x++) o[at + x] = acc[x] / sum;
        lse[(img * heads + h) * n + i] = max + Math.log(sum);
      }
    }
  }
  return { o, lse };
}

/** The gradient of attentionValues from dy (and its o and lse): dqkv in qkv's layout. */
export function attentionGradValues(
  dy: Float32Array,
  qkv: Float32Array,
  o: Float32Array,
  lse: Float32Array,
  dims: AttentionDims,
): Float32Array {
  const { b, n, heads, d } = dims;
  const c = heads * d;
  const ld = 3 * c;
  const scale = scaleOf(d);
  const g = new Float64Array(b * n * ld);
  const s = new Float64Array(n);
  for (let img = 0; img < b; img++) {
    for (let h = 0; h < heads; h++) {
      const q0 = img * n * ld + h * d;
      for (let i = 0; i < n; i++) {
        const qi = q0 + i * ld;
        scoresOf(qkv, qi, q0 + c, dims, s);
        const l = lse[(img * heads + h) * n + i];
        const at = img * n * c + i * c + h * d; // row i of o and dy
        let rowTerm = 0;
        for (let x = 0; x < d; x++) rowTerm += dy[at + x] * o[at + x];
        for (let j = 0; j < n; j++) {
          const kj = q0 + j * ld + c;
          const vj = kj + c;
          const p = Math.exp(s[j] - l);
          let dp = 0;
          for (let x = 0; x < d; x++) dp += dy[at + x] * qkv[vj + x];
          const ds = p * (dp - rowTerm) * scale;
          for (let x = 0; x < d; x++) {
            g[vj + x] += p * dy[at + x];
            g[kj + x] += ds * qkv[qi + x];
            g[qi + x] += ds * qkv[kj + x];
          }
        }
      }
    }
  }
  return Float32Array.from(g);
}
