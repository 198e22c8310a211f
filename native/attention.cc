#include "attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "exp_f.h"
#include "pool.h"

namespace pw {
namespace {

// Eight floats: AVX registers where the CPU has them, the compiler's lowering elsewhere.
typedef float v8 __attribute__((vector_size(32), aligned(4), may_alias));

// Every product below is a small GEMM through one register-tiled micro-kernel of kMr rows ×
// kNv vectors of 8 columns, sized to the register file: its accumulators plus kNv loads and a
// broadcast must fit (16 ymm registers with AVX2, 32 with AVX-512 — the bigger tile there).
#if defined(__AVX512F__)
constexpr int kMr = 4, kNv = 4;
#else
constexpr int kMr = 6, kNv = 2;
#endif
constexpr int kPad = 32;     // positions are padded to a multiple of this (zeros)
constexpr int kRb = 48;      // queries per block
constexpr int kCb = 128;     // keys per block: one online-softmax update forward
constexpr int kCbGrad = 64;  // keys per block backward (two score tiles stay in L1)
constexpr int kMaxD = 1024;

inline v8 load(const float* p) { return *reinterpret_cast<const v8*>(p); }
inline void store(float* p, v8 x) { *reinterpret_cast<v8*>(p) = x; }
inline v8 splat(float x) { return v8{x, x, x, x, x, x, x, x}; }
inline v8 vmax(v8 a, v8 b) { return a > b ? a : b; }

// Lane sums and maxima in a fixed order (so a row's result never depends on anything else).
inline float hsum(v8 x) {
  return ((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]));
}
inline float hmax(v8 x) {
  float m = x[0];
  for (int l = 1; l < 8; ++l) m = std::max(m, x[l]);
  return m;
}

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// c[r, 8v …] (+)= Σ_k a[r·ar + k·ak] · b[k·ldb + 8v …] for M rows and NV vectors.
template <int M, int NV, bool Acc>
inline void micro(const float* a, int64_t ar, int64_t ak, const float* b, int64_t ldb, int K,
                  float* c, int64_t ldc) {
  v8 acc[M][NV];
#pragma GCC unroll 8
  for (int r = 0; r < M; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = Acc ? load(c + r * ldc + 8 * v) : splat(0.0f);
#pragma GCC unroll 16
  for (int k = 0; k < K; ++k) {
    v8 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = load(b + k * ldb + 8 * v);
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r) {
      const v8 x = splat(a[r * ar + k * ak]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] += x * bv[v];
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < M; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) store(c + r * ldc + 8 * v, acc[r][v]);
}

// M rows of C across its nc columns (see gemm).
template <int M, bool Acc>
void gemm_rows(const float* a, int64_t ar, int64_t ak, const float* b, int64_t ldb, int K,
               float* c, int64_t ldc, int nc) {
  int j = 0;
  for (; j + 8 * kNv <= nc; j += 8 * kNv)
    micro<M, kNv, Acc>(a, ar, ak, b + j, ldb, K, c + j, ldc);
  if (kNv > 2)
    for (; j + 16 <= nc; j += 16) micro<M, 2, Acc>(a, ar, ak, b + j, ldb, K, c + j, ldc);
  for (; j < nc; j += 8) micro<M, 1, Acc>(a, ar, ak, b + j, ldb, K, c + j, ldc);
}

// C [m × nc] (+)= A [m × K] · B [K × nc]: A's element (r, k) at a[r·ar + k·ak], B row-major
// (stride ldb), C row-major (stride ldc); nc a multiple of 8. Each element's sum runs over k
// in order, so the result does not depend on the tiling.
template <bool Acc>
void gemm(int m, int nc, int K, const float* a, int64_t ar, int64_t ak, const float* b,
          int64_t ldb, float* c, int64_t ldc) {
  int i = 0;
  for (; i + kMr <= m; i += kMr)
    gemm_rows<kMr, Acc>(a + i * ar, ar, ak, b, ldb, K, c + i * ldc, ldc, nc);
  a += i * ar;
  c += i * ldc;
  switch (m - i) {  // the last rows, fewer than kMr
    case 5: gemm_rows<5, Acc>(a, ar, ak, b, ldb, K, c, ldc, nc); break;
    case 4: gemm_rows<4, Acc>(a, ar, ak, b, ldb, K, c, ldc, nc); break;
    case 3: gemm_rows<3, Acc>(a, ar, ak, b, ldb, K, c, ldc, nc); break;
    case 2: gemm_rows<2, Acc>(a, ar, ak, b, ldb, K, c, ldc, nc); break;
    case 1: gemm_rows<1, Acc>(a, ar, ak, b, ldb, K, c, ldc, nc); break;
    default: break;
  }
}

// Where one (image, head)'s rows lie in a [b, n, ·] tensor: position i at at + i·ld.
struct Rows {
  int64_t at, ld;
  int64_t operator()(int i) const { return at + (int64_t)i * ld; }
};

// One (image, head)'s operands in padded scratch: rows [np × dp] and transposed [dp × lt],
// zeros beyond n and d (zero channels add nothing to a dot product). The transposed rows are
// lt = np + 16 apart: at a power-of-two stride (np = 1,024) a tile's rows would all fall in
// the same L1 cache set. q, k, v (and their gradients) lie at `in`, o and its gradient at
// `out`.
struct Head {
  int n, d, np, dp, lt;
  Rows in, out;

  void rows(const float* x, Rows at, float scale, float* dst) const {
    std::fill(dst, dst + (int64_t)np * dp, 0.0f);
    for (int i = 0; i < n; ++i) {
      const float* src = x + at(i);
      for (int k = 0; k < d; ++k) dst[(int64_t)i * dp + k] = src[k] * scale;
    }
  }
  int64_t size() const { return (int64_t)lt * dp; }  // scratch for either layout
  void cols(const float* x, Rows at, float* dst) const {
    std::fill(dst, dst + size(), 0.0f);
    for (int i = 0; i < n; ++i) {
      const float* src = x + at(i);
      for (int k = 0; k < d; ++k) dst[(int64_t)k * lt + i] = src[k];
    }
  }
};

// Per-thread scratch, grown on demand.
float* scratch(std::vector<float>& v, int64_t n) {
  if ((int64_t)v.size() < n) v.resize(n);
  return v.data();
}

void forward_head(const float* q, const float* k, const float* v, float* o, float* lse,
                  const Head& h, float scale) {
  const int np = h.np, dp = h.dp, n = h.n;
  thread_local std::vector<float> buf;
  const int64_t size = h.size();
  float* Q = scratch(buf, 3 * size + kRb * (kCb + dp));
  float* Kt = Q + size;
  float* V = Kt + size;
  float* S = V + size;       // [kRb × kCb] scores, then probabilities
  float* A = S + kRb * kCb;  // [kRb × dp] running Σ p·v
  h.rows(q, h.in, scale, Q);
  h.cols(k, h.in, Kt);
  h.rows(v, h.in, 1.0f, V);
  float m[kRb], l[kRb];
  for (int i0 = 0; i0 < np && i0 < n; i0 += kRb) {
    const int rb = std::min(kRb, np - i0);
    std::fill(A, A + (int64_t)rb * dp, 0.0f);
    for (int r = 0; r < rb; ++r) m[r] = -INFINITY, l[r] = 0.0f;
    for (int j0 = 0; j0 < n; j0 += kCb) {
      const int cb = std::min(kCb, np - j0), valid = std::min(cb, n - j0);
      gemm<false>(rb, cb, dp, Q + (int64_t)i0 * dp, dp, 1, Kt + j0, h.lt, S, cb);
      // Online softmax over blocks of keys: rescale what the earlier blocks gave to the new
      // running maximum.
      for (int r = 0; r < rb; ++r) {
        float* sr = S + r * cb;
        for (int c = valid; c < cb; ++c) sr[c] = -INFINITY;
        v8 mx = load(sr);
        for (int c = 8; c < cb; c += 8) mx = vmax(mx, load(sr + c));
        const float mnew = std::max(m[r], hmax(mx));
        const float alpha = exp_f_upto88(m[r] - mnew);
        for (int c = 0; c < cb; ++c) sr[c] = exp_f_upto88(sr[c] - mnew);
        v8 sum = load(sr);
        for (int c = 8; c < cb; c += 8) sum += load(sr + c);
        l[r] = l[r] * alpha + hsum(sum);
        m[r] = mnew;
        float* ar = A + r * dp;
        for (int x = 0; x < dp; ++x) ar[x] *= alpha;
      }
      gemm<true>(rb, dp, cb, S, cb, 1, V + (int64_t)j0 * dp, dp, A, dp);
    }
    for (int r = 0; r < rb && i0 + r < n; ++r) {
      const int i = i0 + r;
      float* dst = o + h.out(i);
      for (int x = 0; x < h.d; ++x) dst[x] = A[r * dp + x] / l[r];
      lse[i] = m[r] + std::log(l[r]);
    }
  }
}

void backward_head(const float* q, const float* k, const float* v, const float* o,
                   const float* lse, const float* dout, float* dq, float* dk, float* dv,
                   const Head& h, float scale) {
  const int np = h.np, dp = h.dp, n = h.n;
  thread_local std::vector<float> buf;
  const int64_t size = h.size();
  float* Q = scratch(buf, 7 * size + 2 * (int64_t)np + kRb * (2 * kCbGrad + dp));
  float* Kt = Q + size;
  float* K = Kt + size;
  float* Vt = K + size;
  float* dO = Vt + size;
  float* dK = dO + size;  // [np × dp] like K
  float* dV = dK + size;
  float* D = dV + size;
  float* L = D + np;
  float* P = L + np;                // [kRb × cb] probabilities
  float* dS = P + kRb * kCbGrad;    // [kRb × cb] score gradients
  float* G = dS + kRb * kCbGrad;    // [kRb × dp] Σ dS·K, dq's rows
  h.rows(q, h.in, scale, Q);
  h.cols(k, h.in, Kt);
  h.rows(k, h.in, 1.0f, K);
  h.cols(v, h.in, Vt);
  h.rows(dout, h.out, 1.0f, dO);
  std::fill(dK, dK + 2 * size, 0.0f);
  // D_i = dO_i · O_i: the softmax gradient's row term. Padded rows get nothing (L = +inf).
  for (int i = 0; i < np; ++i) {
    float acc = 0.0f;
    if (i < n) {
      const int64_t at = h.out(i);
      for (int x = 0; x < h.d; ++x) acc += dout[at + x] * o[at + x];
    }
    D[i] = acc;
    L[i] = i < n ? lse[i] : INFINITY;
  }
  for (int i0 = 0; i0 < n; i0 += kRb) {
    const int rb = std::min(kRb, np - i0);
    const float* Qi = Q + (int64_t)i0 * dp;
    const float* dOi = dO + (int64_t)i0 * dp;
    std::fill(G, G + (int64_t)rb * dp, 0.0f);
    for (int j0 = 0; j0 < n; j0 += kCbGrad) {
      const int cb = std::min(kCbGrad, np - j0), valid = std::min(cb, n - j0);
      gemm<false>(rb, cb, dp, Qi, dp, 1, Kt + j0, h.lt, P, cb);
      gemm<false>(rb, cb, dp, dOi, dp, 1, Vt + j0, h.lt, dS, cb);
      for (int r = 0; r < rb; ++r) {
        const float lr = L[i0 + r], dr = D[i0 + r];
        float* pr = P + r * cb;
        float* sr = dS + r * cb;
        for (int c = 0; c < cb; ++c) {
          const float e = exp_f_upto88(pr[c] - lr);
          pr[c] = e;
          sr[c] = e * (sr[c] - dr);
        }
        std::fill(pr + valid, pr + cb, 0.0f);  // keys beyond n
        std::fill(sr + valid, sr + cb, 0.0f);
      }
      // dq_r += Σ_c dS_rc K_c; dV += Pᵀ dO and dK += dSᵀ Q over the block's rows.
      gemm<true>(rb, dp, cb, dS, cb, 1, K + (int64_t)j0 * dp, dp, G, dp);
      gemm<true>(cb, dp, rb, P, 1, cb, dOi, dp, dV + (int64_t)j0 * dp, dp);
      gemm<true>(cb, dp, rb, dS, 1, cb, Qi, dp, dK + (int64_t)j0 * dp, dp);
    }
    for (int r = 0; r < rb && i0 + r < n; ++r) {
      float* dst = dq + h.in(i0 + r);
      for (int x = 0; x < h.d; ++x) dst[x] = G[r * dp + x] * scale;
    }
  }
  for (int i = 0; i < n; ++i) {
    const int64_t at = h.in(i);
    for (int x = 0; x < h.d; ++x) {
      dk[at + x] = dK[(int64_t)i * dp + x];
      dv[at + x] = dV[(int64_t)i * dp + x];
    }
  }
}

// Runs fn(head, task, scale) for every (image, head), one task each; q, k, v lie ld floats a
// position apart, o heads·d.
template <class F>
bool each_head(int b, int n, int heads, int d, int64_t ld, F fn) {
  if (d < 1 || d > kMaxD || b < 0 || n < 0 || heads < 1) return false;
  const int tasks = b * heads;
  const int64_t c = (int64_t)heads * d;
  const float scale = 1.0f / std::sqrt((float)d);
  auto run = [&](int, int t) {
    const int np = (int)round_up(n, kPad);
    const int64_t image = t / heads, col = (int64_t)(t % heads) * d;
    const Head h{n, d, np, (int)round_up(d, 8), np + 16, Rows{image * n * ld + col, ld},
                 Rows{image * n * c + col, c}};
    fn(h, t, scale);
  };
  if (tasks <= 1 || pool_threads() == 1 || (int64_t)tasks * n * n * d < (1 << 16)) {
    for (int t = 0; t < tasks; ++t) run(0, t);
  } else {
    parallel_for(tasks, run);
  }
  return true;
}

}  // namespace

bool attention_forward(const float* qkv, float* o, float* lse, int b, int n, int heads, int d) {
  const int64_t c = (int64_t)heads * d;
  return each_head(b, n, heads, d, 3 * c, [&](const Head& h, int t, float scale) {
    forward_head(qkv, qkv + c, qkv + 2 * c, o, lse + (int64_t)t * n, h, scale);
  });
}

bool attention_backward(const float* qkv, const float* o, const float* lse, const float* do_,
                        float* dqkv, int b, int n, int heads, int d) {
  const int64_t c = (int64_t)heads * d;
  return each_head(b, n, heads, d, 3 * c, [&](const Head& h, int t, float scale) {
    backward_head(qkv, qkv + c, qkv + 2 * c, o, lse + (int64_t)t * n, do_, dqkv, dqkv + c,
                  dqkv + 2 * c, h, scale);
  });
}

void softmax_rows(const float* x, float* y, int64_t rows, int cols) {
  auto body = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      float m = -INFINITY;
      for (int c = 0; c < cols; ++c) m = std::max(m, xr[c]);
      for (int c = 0; c < cols; ++c) yr[c] = exp_f_upto88(xr[c] - m);
      v8 acc = {};
      int c = 0;
      for (; c + 8 <= cols; c += 8) acc += load(yr + c);
      float sum = hsum(acc);
      for (; c < cols; ++c) sum += yr[c];
      for (c = 0; c < cols; ++c) yr[c] = yr[c] / sum;
    }
  };
  const int threads = pool_threads();
  if (rows * cols < (1 << 17) || threads == 1 || rows < 2) {
    body(0, rows);
    return;
  }
  const int tasks = (int)std::min<int64_t>(rows, 4 * threads);
  parallel_for(tasks, [&](int, int t) { body(rows * t / tasks, rows * (t + 1) / tasks); });
}

}  // namespace pw
