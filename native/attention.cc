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

constexpr int kRows = 4;   // queries per tile
constexpr int kCols = 32;  // keys per tile (four v8)
constexpr int kBlock = 128;  // keys per online-softmax update (four tiles)
constexpr int kMaxD = 1024;

inline v8 load(const float* p) { return *reinterpret_cast<const v8*>(p); }
inline void store(float* p, v8 x) { *reinterpret_cast<v8*>(p) = x; }
inline v8 splat(float x) { return v8{x, x, x, x, x, x, x, x}; }

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

// One (image, head)'s operands in padded scratch: rows [np × dp] and transposed [dp × np],
// zeros beyond n and d (zero channels add nothing to a dot product).
struct Head {
  int n, d, np, dp, c;  // c: channels of a position in the [b, n, c] tensors
  int64_t base, col;    // offset of the image, channel of the head

  void rows(const float* x, float scale, float* out) const {
    std::fill(out, out + (int64_t)np * dp, 0.0f);
    for (int i = 0; i < n; ++i) {
      const float* src = x + base + (int64_t)i * c + col;
      for (int k = 0; k < d; ++k) out[(int64_t)i * dp + k] = src[k] * scale;
    }
  }
  void cols(const float* x, float* out) const {
    std::fill(out, out + (int64_t)np * dp, 0.0f);
    for (int i = 0; i < n; ++i) {
      const float* src = x + base + (int64_t)i * c + col;
      for (int k = 0; k < d; ++k) out[(int64_t)k * np + i] = src[k];
    }
  }
};

// s[r·ld + ·] = a[r] · bt[:, j … j+31] for the tile's 4 rows of a (stride dp), bt [dp × np].
inline void tile_products(const float* a, const float* bt, int np, int dp, int j, float* s,
                          int ld) {
  v8 acc[kRows][4] = {};
  for (int k = 0; k < dp; ++k) {
    const float* brow = bt + (int64_t)k * np + j;
    const v8 b0 = load(brow), b1 = load(brow + 8), b2 = load(brow + 16), b3 = load(brow + 24);
    for (int r = 0; r < kRows; ++r) {
      const v8 x = splat(a[(int64_t)r * dp + k]);
      acc[r][0] += x * b0;
      acc[r][1] += x * b1;
      acc[r][2] += x * b2;
      acc[r][3] += x * b3;
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int q = 0; q < 4; ++q) store(s + r * ld + 8 * q, acc[r][q]);
}

// Per-thread scratch, grown on demand.
float* scratch(std::vector<float>& v, int64_t n) {
  if ((int64_t)v.size() < n) v.resize(n);
  return v.data();
}

inline v8 vmax(v8 a, v8 b) { return a > b ? a : b; }

template <int DV>
void forward_head(const float* q, const float* k, const float* v, float* o, float* lse,
                  const Head& h, float scale) {
  constexpr int dp = 8 * DV;
  const int np = h.np;
  thread_local std::vector<float> bq, bkt, bv;
  const int64_t size = (int64_t)np * dp;
  float* Q = scratch(bq, size);
  float* Kt = scratch(bkt, size);
  float* V = scratch(bv, size);
  h.rows(q, scale, Q);
  h.cols(k, Kt);
  h.rows(v, 1.0f, V);
  alignas(32) float s[kRows][kBlock];
  for (int i0 = 0; i0 < h.n; i0 += kRows) {
    float m[kRows], l[kRows];
    v8 acc[kRows][DV] = {};
    for (int r = 0; r < kRows; ++r) m[r] = -INFINITY, l[r] = 0.0f;
    for (int j0 = 0; j0 < h.n; j0 += kBlock) {
      const int valid = std::min(kBlock, h.n - j0);
      for (int j = 0; j < valid; j += kCols) {
        tile_products(Q + (int64_t)i0 * dp, Kt, np, dp, j0 + j, s[0] + j, kBlock);
      }
      // Online softmax over blocks of keys: rescale what the earlier blocks gave to the new
      // running maximum.
      for (int r = 0; r < kRows; ++r) {
        for (int c = valid; c < kBlock; ++c) s[r][c] = -INFINITY;
        v8 mx = load(s[r]);
        for (int c = 8; c < kBlock; c += 8) mx = vmax(mx, load(s[r] + c));
        const float mnew = std::max(m[r], hmax(mx));
        const float alpha = exp_f(m[r] - mnew);
        for (int c = 0; c < kBlock; ++c) s[r][c] = exp_f(s[r][c] - mnew);
        v8 sum = load(s[r]);
        for (int c = 8; c < kBlock; c += 8) sum += load(s[r] + c);
        l[r] = l[r] * alpha + hsum(sum);
        m[r] = mnew;
        for (int x = 0; x < DV; ++x) acc[r][x] *= alpha;
      }
      // acc_r += Σ_c p_rc V_c, 8 channels at a time, the 4 rows' sums in registers.
      for (int x = 0; x < DV; ++x) {
        v8 ax[kRows];
        for (int r = 0; r < kRows; ++r) ax[r] = acc[r][x];
        for (int c = 0; c < valid; ++c) {
          const v8 vv = load(V + (int64_t)(j0 + c) * dp + 8 * x);
          for (int r = 0; r < kRows; ++r) ax[r] += splat(s[r][c]) * vv;
        }
        for (int r = 0; r < kRows; ++r) acc[r][x] = ax[r];
      }
    }
    for (int r = 0; r < kRows && i0 + r < h.n; ++r) {
      const int i = i0 + r;
      const float* a = reinterpret_cast<const float*>(acc[r]);
      float* dst = o + h.base + (int64_t)i * h.c + h.col;
      for (int x = 0; x < h.d; ++x) dst[x] = a[x] / l[r];
      lse[i] = m[r] + std::log(l[r]);
    }
  }
}

template <int DV>
void backward_head(const float* q, const float* k, const float* v, const float* o,
                   const float* lse, const float* dout, float* dq, float* dk, float* dv,
                   const Head& h, float scale) {
  constexpr int dp = 8 * DV;
  const int np = h.np, n = h.n;
  thread_local std::vector<float> buf;
  const int64_t size = (int64_t)np * dp;
  float* Q = scratch(buf, 7 * size + 2 * (int64_t)np);
  float* Kt = Q + size;
  float* K = Kt + size;
  float* Vt = K + size;
  float* dO = Vt + size;
  float* dK = dO + size;
  float* dV = dK + size;
  float* D = dV + size;
  float* L = D + np;
  h.rows(q, scale, Q);
  h.cols(k, Kt);
  h.rows(k, 1.0f, K);
  h.cols(v, Vt);
  h.rows(dout, 1.0f, dO);
  std::fill(dK, dK + 2 * size, 0.0f);
  // D_i = dO_i · O_i: the softmax gradient's row term. Padded rows get nothing (L = +inf).
  for (int i = 0; i < np; ++i) {
    float acc = 0.0f;
    if (i < n) {
      const int64_t at = h.base + (int64_t)i * h.c + h.col;
      for (int x = 0; x < h.d; ++x) acc += dout[at + x] * o[at + x];
    }
    D[i] = acc;
    L[i] = i < n ? lse[i] : INFINITY;
  }
  alignas(32) float p[kRows][kCols];
  alignas(32) float ds[kRows][kCols];
  for (int i0 = 0; i0 < n; i0 += kRows) {
    v8 g[kRows][DV] = {};
    const float* Qi = Q + (int64_t)i0 * dp;
    const float* dOi = dO + (int64_t)i0 * dp;
    for (int j = 0; j < n; j += kCols) {
      tile_products(Qi, Kt, np, dp, j, p[0], kCols);
      tile_products(dOi, Vt, np, dp, j, ds[0], kCols);
      const int valid = std::min(kCols, n - j);
      for (int r = 0; r < kRows; ++r) {
        const float lr = L[i0 + r], dr = D[i0 + r];
        for (int c = 0; c < kCols; ++c) {
          const float e = c < valid ? exp_f(p[r][c] - lr) : 0.0f;
          p[r][c] = e;
          ds[r][c] = e * (ds[r][c] - dr);
        }
      }
      // dV_c += Σ_r p_rc dO_r, dK_c += Σ_r ds_rc Q_r, dQ_r += Σ_c ds_rc K_c, a column of 8
      // channels at a time with the tile's rows of dO and Q held in registers.
      for (int x = 0; x < DV; ++x) {
        v8 dor[kRows], qr[kRows], gx[kRows];
        for (int r = 0; r < kRows; ++r) {
          dor[r] = load(dOi + r * dp + 8 * x);
          qr[r] = load(Qi + r * dp + 8 * x);
          gx[r] = g[r][x];
        }
        for (int c = 0; c < valid; ++c) {
          const int64_t at = (int64_t)(j + c) * dp + 8 * x;
          v8 a = load(dV + at), b = load(dK + at);
          const v8 kv = load(K + at);
          for (int r = 0; r < kRows; ++r) {
            a += splat(p[r][c]) * dor[r];
            b += splat(ds[r][c]) * qr[r];
            gx[r] += splat(ds[r][c]) * kv;
          }
          store(dV + at, a);
          store(dK + at, b);
        }
        for (int r = 0; r < kRows; ++r) g[r][x] = gx[r];
      }
    }
    for (int r = 0; r < kRows && i0 + r < n; ++r) {
      const float* a = reinterpret_cast<const float*>(g[r]);
      float* dst = dq + h.base + (int64_t)(i0 + r) * h.c + h.col;
      for (int x = 0; x < h.d; ++x) dst[x] = a[x] * scale;
    }
  }
  for (int i = 0; i < n; ++i) {
    const int64_t at = h.base + (int64_t)i * h.c + h.col;
    for (int x = 0; x < h.d; ++x) {
      dk[at + x] = dK[(int64_t)i * dp + x];
      dv[at + x] = dV[(int64_t)i * dp + x];
    }
  }
}

// Runs fn<DV>(head, task) for every (image, head), DV the v8 count that holds d (a power of
// two, so eight instantiations cover d up to 1,024).
template <template <int> class F, class... A>
bool each_head(int b, int n, int heads, int d, A... args) {
  if (d < 1 || d > kMaxD || b < 0 || n < 0 || heads < 1) return false;
  int dv = 1;
  while (8 * dv < d) dv *= 2;
  const int tasks = b * heads;
  auto run = [&](int, int t) {
    Head h{n, d, (int)round_up(n, kCols), 8 * dv, heads * d,
           (int64_t)(t / heads) * n * heads * d, (int64_t)(t % heads) * d};
    const float scale = 1.0f / std::sqrt((float)d);
    switch (dv) {
      case 1: F<1>::run(h, t, scale, args...); break;
      case 2: F<2>::run(h, t, scale, args...); break;
      case 4: F<4>::run(h, t, scale, args...); break;
      case 8: F<8>::run(h, t, scale, args...); break;
      case 16: F<16>::run(h, t, scale, args...); break;
      case 32: F<32>::run(h, t, scale, args...); break;
      case 64: F<64>::run(h, t, scale, args...); break;
      default: F<128>::run(h, t, scale, args...); break;
    }
  };
  if (tasks <= 1 || pool_threads() == 1 || (int64_t)tasks * n * n * d < (1 << 16)) {
    for (int t = 0; t < tasks; ++t) run(0, t);
  } else {
    parallel_for(tasks, run);
  }
  return true;
}

template <int DV>
struct Forward {
  static void run(const Head& h, int t, float scale, const float* q, const float* k,
                  const float* v, float* o, float* lse) {
    forward_head<DV>(q, k, v, o, lse + (int64_t)t * h.n, h, scale);
  }
};

template <int DV>
struct Backward {
  static void run(const Head& h, int t, float scale, const float* q, const float* k,
                  const float* v, const float* o, const float* lse, const float* dout,
                  float* dq, float* dk, float* dv) {
    backward_head<DV>(q, k, v, o, lse + (int64_t)t * h.n, dout, dq, dk, dv, h, scale);
  }
};

}  // namespace

bool attention_forward(const float* q, const float* k, const float* v, float* o, float* lse,
                       int b, int n, int heads, int d) {
  return each_head<Forward>(b, n, heads, d, q, k, v, o, lse);
}

bool attention_backward(const float* q, const float* k, const float* v, const float* o,
                        const float* lse, const float* do_, float* dq, float* dk, float* dv,
                        int b, int n, int heads, int d) {
  return each_head<Backward>(b, n, heads, d, q, k, v, o, lse, do_, dq, dk, dv);
}

void softmax_rows(const float* x, float* y, int64_t rows, int cols) {
  auto body = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      float m = -INFINITY;
      for (int c = 0; c < cols; ++c) m = std::max(m, xr[c]);
      for (int c = 0; c < cols; ++c) yr[c] = exp_f(xr[c] - m);
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
