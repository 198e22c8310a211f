// Register-tiled GEMM written with GCC vector extensions so the compiler emits the widest FMA
// the target has (-march=native). The vector is as wide as the target's registers (16 floats
// with AVX-512, else 8) and the tile fits its register file: with AVX-512 (32 registers) 12x32
// (24 accumulators) when N > 16, else 16x16; with AVX2 (16 registers) 6x16 (12 accumulators)
// when N > 8, else 12x8. A tile of more accumulators than registers spills on every step
// (a 12x32 tile on AVX2 ran at ~4 GFLOP/s).
// On AVX2 the forward pass and the input gradient read the A operand in place: per row tile, a table
// of the address of each row's taps (a pixel's ci or co contiguous floats, or zeros for
// padding) feeds a micro-kernel that walks tap by tap (micro_ind), so nothing is copied; on
// small channel counts the copy cost as much as a quarter of the GEMM (AVX-512 builds, not
// measured since, still gather rows into a tile buffer). The filter gradient gathers rows
// (im2col) into a per-thread tile buffer. A 1x1 convolution with stride 1 and
// no padding (and a plain matmul) reads its rows in place, gathering nothing.
#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "pool.h"

namespace pw {
namespace {

#if defined(__AVX512F__)
constexpr int VL = 16;
constexpr int WIDE_MR = 12, WIDE_NV = 2, NARROW_MR = 16;
#else
constexpr int VL = 8;
constexpr int WIDE_MR = 6, WIDE_NV = 2, NARROW_MR = 12;
#endif
typedef float vf __attribute__((vector_size(VL * 4)));
typedef float vfu __attribute__((vector_size(VL * 4), aligned(4)));

constexpr int KC = 256;  // reduction block: keeps a B panel (KC x 32 floats) in L1

struct AlignedBuf {
  float* p = nullptr;
  size_t cap = 0;
  float* get(size_t n) {
    if (n > cap) {
      std::free(p);
      size_t bytes = ((n * sizeof(float)) + 63) / 64 * 64;
      p = static_cast<float*>(std::aligned_alloc(64, bytes));
      cap = bytes / sizeof(float);
    }
    return p;
  }
  ~AlignedBuf() { std::free(p); }
};

// Per-thread scratch (index = pool thread index).
struct Scratch {
  AlignedBuf a, b;
  std::vector<const float*> ind;
};
std::vector<Scratch>& scratch() {
  static std::vector<Scratch>* s = new std::vector<Scratch>(64);
  return *s;
}
// Per-task partial sums of the filter gradient (index = task, not thread).
std::vector<AlignedBuf>& task_partials() {
  static std::vector<AlignedBuf>* p = new std::vector<AlignedBuf>(16);
  return *p;
}
// At least n zero floats (the padding taps of micro_ind); called outside parallel_for.
const float* zeros(int n) {
  static AlignedBuf* z = new AlignedBuf();
  if ((size_t)n > z->cap) {
    float* p = z->get(n);
    std::memset(p, 0, z->cap * sizeof(float));
  }
  return z->p;
}
AlignedBuf& shared_b() {
  static AlignedBuf* b = new AlignedBuf();
  return *b;
}

// Writes (or adds) the top-left mr x nr of the accumulators to C.
template <int MR, int NV>
inline void store_tile(const vf (&acc)[MR][NV], float* __restrict c, long ldc, int mr, int nr,
                       bool accumulate) {
  if (mr == MR && nr == NV * VL) {
    for (int r = 0; r < MR; ++r)
      for (int v = 0; v < NV; ++v) {
        vfu* cp = reinterpret_cast<vfu*>(c + r * ldc + v * VL);
        if (accumulate)
          *cp = *cp + acc[r][v];
        else
          *cp = acc[r][v];
      }
  } else {
    alignas(64) float tmp[MR][NV * VL];
    for (int r = 0; r < MR; ++r)
      for (int v = 0; v < NV; ++v) *reinterpret_cast<vf*>(&tmp[r][v * VL]) = acc[r][v];
    for (int r = 0; r < mr; ++r)
      for (int j = 0; j < nr; ++j) {
        float* cp = c + r * ldc + j;
        *cp = accumulate ? *cp + tmp[r][j] : tmp[r][j];
      }
  }
}

// C[MR x NV*VL] (+)= A[MR x kc] · Bp[kc x NV*VL]; A element (r, p) is a[r*rsa + p*csa];
// Bp is a packed panel (row p at bp + p*NV*VL). Only the top-left mr x nr of C is written.
template <int MR, int NV>
inline void micro(int kc, const float* __restrict a, long rsa, long csa,
                  const float* __restrict bp, float* __restrict c, long ldc, int mr, int nr,
                  bool accumulate) {
  vf acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = vf{};
  for (int p = 0; p < kc; ++p) {
    vf b[NV];
    for (int v = 0; v < NV; ++v) b[v] = *reinterpret_cast<const vfu*>(bp + (long)p * NV * VL + v * VL);
    const float* ap = a + p * csa;
    for (int r = 0; r < MR; ++r) {
      float av = ap[r * rsa];
      for (int v = 0; v < NV; ++v) acc[r][v] += av * b[v];
    }
  }
  store_tile<MR, NV>(acc, c, ldc, mr, nr, accumulate);
}

// C[MR x NV*VL] (+)= A · Bp where A's columns are taps [t0, t1) of seg floats each: row r of
// tap t is ind[r*taps + t][0..seg) (a pixel's channels, or zeros for padding). Bp starts at
// row t0*seg of a packed panel.
template <int MR, int NV>
inline void micro_ind(int t0, int t1, int seg, const float* const* ind, int taps,
                      const float* __restrict bp, float* __restrict c, long ldc, int mr, int nr,
                      bool accumulate) {
  vf acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = vf{};
  for (int t = t0; t < t1; ++t) {
    const float* ap[MR];
    for (int r = 0; r < MR; ++r) ap[r] = ind[r * taps + t];
    for (int p = 0; p < seg; ++p, bp += NV * VL) {
      vf b[NV];
      for (int v = 0; v < NV; ++v) b[v] = *reinterpret_cast<const vf*>(bp + v * VL);
      for (int r = 0; r < MR; ++r) {
        float av = ap[r][p];
        for (int v = 0; v < NV; ++v) acc[r][v] += av * b[v];
      }
    }
  }
  store_tile<MR, NV>(acc, c, ldc, mr, nr, accumulate);
}

// A K x N B operand in memory: element (k, j) = b[(k / kt)*tstride + (k % kt)*rsb + j*csb]
// (kt = K for a plain strided matrix; the input gradient's filter is one block per tap).
struct BView {
  const float* b;
  long rsb, csb;
  int kt;
  long tstride;
  const float* row(int k) const { return b + (long)(k / kt) * tstride + (long)(k % kt) * rsb; }
};

// Packs B (K x N) into panels of width NR, zero-padded: panel q holds columns
// [q*NR, q*NR+NR) as K rows of NR floats.
void pack_b(const BView& bv, int K, int N, int NR, float* out) {
  const long csb = bv.csb;
  int panels = (N + NR - 1) / NR;
  for (int q = 0; q < panels; ++q) {
    float* dst = out + (long)q * K * NR;
    int j0 = q * NR;
    int nj = std::min(NR, N - j0);
    for (int k = 0; k < K; ++k) {
      float* row = dst + (long)k * NR;
      const float* src = bv.row(k) + (long)j0 * csb;
      if (csb == 1) {
        std::memcpy(row, src, nj * sizeof(float));
      } else {
        for (int j = 0; j < nj; ++j) row[j] = src[(long)j * csb];
      }
      for (int j = nj; j < NR; ++j) row[j] = 0.f;
    }
  }
}

// C[mc x N] = Atile[mc x K] (row-major, rows padded to a multiple of MR) · B (packed panels).
template <int MR, int NV>
void tile_gemm(int mc, int N, int K, const float* atile, const float* bp, float* c, long ldc) {
  constexpr int NR = NV * VL;
  int panels = (N + NR - 1) / NR;
  // Equal reduction blocks of at most KC (K = 288 is 144 + 144, not 256 + a 32 that reloads
  // and stores the whole C tile for a few steps).
  const int kblocks = (K + KC - 1) / KC;
  const int kstep = (K + kblocks - 1) / kblocks;
  for (int k0 = 0; k0 < K; k0 += kstep) {
    int kc = std::min(kstep, K - k0);
    for (int q = 0; q < panels; ++q) {
      const float* bpan = bp + (long)q * K * NR + (long)k0 * NR;
      int nr = std::min(NR, N - q * NR);
      for (int i = 0; i < mc; i += MR) {
        micro<MR, NV>(kc, atile + (long)i * K + k0, K, 1, bpan, c + (long)i * ldc + q * NR, ldc,
                      std::min(MR, mc - i), nr, k0 > 0);
      }
    }
  }
}

// Small copies and fills (a few channels of one pixel) without a libc call each.
inline void copy_floats(float* __restrict d, const float* __restrict s, int n) {
  int i = 0;
  for (; i + VL <= n; i += VL)
    *reinterpret_cast<vfu*>(d + i) = *reinterpret_cast<const vfu*>(s + i);
  for (; i < n; ++i) d[i] = s[i];
}

inline void zero_floats(float* d, int n) {
  int i = 0;
  for (; i + VL <= n; i += VL) *reinterpret_cast<vfu*>(d + i) = vf{};
  for (; i < n; ++i) d[i] = 0.f;
}

// Row gatherer: writes rows [m0, m0+mc) of the implicit A matrix (K wide) into dst.
struct Gather {
  // The matrix itself when it is stored row-major, rows K apart (a plain matrix, a 1x1
  // convolution with stride 1 and no padding): its rows are read in place. Else nullptr.
  const float* direct = nullptr;
  // When > 0, each row is K / seg taps of seg contiguous floats (a pixel's channels), and
  // taps() gives their addresses instead of copying them.
  int seg = 0;
  virtual void rows(int m0, int mc, float* dst) const = 0;
  // ind[r*taps + t] = the address of tap t of row m0 + r, or `zero` (seg zeros) for padding.
  virtual void taps(int, int, const float**, const float*) const {}
  virtual ~Gather() = default;
};

// im2col of x for the forward conv and the filter gradient: row (b, oy, ox), column
// (i, j, c) = x[b, oy*sh - pt + i*dh, ox*sw - pl + j*dw, c] or 0 outside.
struct Im2col : Gather {
  const ConvGeom& g;
  const float* x;
  Im2col(const ConvGeom& geom, const float* xs) : g(geom), x(xs) {
    if (g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pad_t == 0 && g.pad_l == 0 &&
        g.ho == g.h && g.wo == g.w)
      direct = x;
    seg = g.ci;
  }
  void taps(int m0, int mc, const float** ind, const float* zero) const override {
    int ox = m0 % g.wo;
    int oy = (m0 / g.wo) % g.ho;
    int b = m0 / (g.wo * g.ho);
    for (int r = 0; r < mc; ++r) {
      const float* xb = x + (long)b * g.h * g.w * g.ci;
      for (int i = 0; i < g.kh; ++i) {
        const int iy = oy * g.sh - g.pad_t + i * g.dh;
        for (int j = 0; j < g.kw; ++j) {
          const int ix = ox * g.sw - g.pad_l + j * g.dw;
          *ind++ = iy < 0 || iy >= g.h || ix < 0 || ix >= g.w
                       ? zero
                       : xb + ((long)iy * g.w + ix) * g.ci;
        }
      }
      if (++ox == g.wo) {
        ox = 0;
        if (++oy == g.ho) {
          oy = 0;
          ++b;
        }
      }
    }
  }
  void rows(int m0, int mc, float* dst) const override {
    const int K = g.kh * g.kw * g.ci;
    const int ci = g.ci;
    int ox = m0 % g.wo;
    int oy = (m0 / g.wo) % g.ho;
    int b = m0 / (g.wo * g.ho);
    for (int r = 0; r < mc; ++r) {
      float* d = dst + (long)r * K;
      const float* xb = x + (long)b * g.h * g.w * ci;
      const int ix0 = ox * g.sw - g.pad_l;
      // With dilation 1 and the whole kernel row inside the image, its taps are contiguous.
      const bool row_inside = g.dw == 1 && ix0 >= 0 && ix0 + g.kw <= g.w;
      for (int i = 0; i < g.kh; ++i) {
        int iy = oy * g.sh - g.pad_t + i * g.dh;
        if (iy < 0 || iy >= g.h) {
          zero_floats(d, g.kw * ci);
          d += g.kw * ci;
          continue;
        }
        const float* xrow = xb + (long)iy * g.w * ci;
        if (row_inside) {
          copy_floats(d, xrow + (long)ix0 * ci, g.kw * ci);
          d += g.kw * ci;
          continue;
        }
        for (int j = 0; j < g.kw; ++j, d += ci) {
          int ix = ix0 + j * g.dw;
          if (ix < 0 || ix >= g.w)
            zero_floats(d, ci);
          else
            copy_floats(d, xrow + (long)ix * ci, ci);
        }
      }
      if (++ox == g.wo) {
        ox = 0;
        if (++oy == g.ho) {
          oy = 0;
          ++b;
        }
      }
    }
  }
};

// Gather of dy for the input gradient: row (b, y, x) of dx, column (i, j, o) =
// dy[b, (y + pt - i*dh)/sh, (x + pl - j*dw)/sw, o] when that division is exact and in range.
struct DyGather : Gather {
  const ConvGeom& g;
  const float* dy;
  DyGather(const ConvGeom& geom, const float* d) : g(geom), dy(d) {
    if (g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pad_t == 0 && g.pad_l == 0 &&
        g.ho == g.h && g.wo == g.w)
      direct = dy;
    seg = g.co;
  }
  void taps(int m0, int mc, const float** ind, const float* zero) const override {
    int x = m0 % g.w;
    int y = (m0 / g.w) % g.h;
    int b = m0 / (g.w * g.h);
    for (int r = 0; r < mc; ++r) {
      const float* db = dy + (long)b * g.ho * g.wo * g.co;
      for (int i = 0; i < g.kh; ++i) {
        const int ny = y + g.pad_t - i * g.dh;
        const int oy = ny / g.sh;
        const bool yok = ny >= 0 && ny % g.sh == 0 && oy < g.ho;
        for (int j = 0; j < g.kw; ++j) {
          const int nx = x + g.pad_l - j * g.dw;
          const int ox = nx / g.sw;
          *ind++ = !yok || nx < 0 || nx % g.sw != 0 || ox >= g.wo
                       ? zero
                       : db + ((long)oy * g.wo + ox) * g.co;
        }
      }
      if (++x == g.w) {
        x = 0;
        if (++y == g.h) {
          y = 0;
          ++b;
        }
      }
    }
  }
  void rows(int m0, int mc, float* dst) const override {
    const int K = g.kh * g.kw * g.co;
    const int co = g.co;
    int x = m0 % g.w;
    int y = (m0 / g.w) % g.h;
    int b = m0 / (g.w * g.h);
    for (int r = 0; r < mc; ++r) {
      float* d = dst + (long)r * K;
      const float* db = dy + (long)b * g.ho * g.wo * co;
      for (int i = 0; i < g.kh; ++i) {
        int ny = y + g.pad_t - i * g.dh;
        int oy = ny / g.sh;
        bool yok = ny >= 0 && ny % g.sh == 0 && oy < g.ho;
        for (int j = 0; j < g.kw; ++j, d += co) {
          int nx = x + g.pad_l - j * g.dw;
          int ox = nx / g.sw;
          if (!yok || nx < 0 || nx % g.sw != 0 || ox >= g.wo)
            zero_floats(d, co);
          else
            copy_floats(d, db + ((long)oy * g.wo + ox) * co, co);
        }
      }
      if (++x == g.w) {
        x = 0;
        if (++y == g.h) {
          y = 0;
          ++b;
        }
      }
    }
  }
};

// Plain rows of a (possibly transposed) matrix: element (m, k) = a[m*rs + k*cs].
struct MatRows : Gather {
  const float* a;
  long rs, cs;
  int K;
  MatRows(const float* as, long r, long c, int k) : a(as), rs(r), cs(c), K(k) {
    if (c == 1 && r == k) direct = a;
  }
  void rows(int m0, int mc, float* dst) const override {
    for (int r = 0; r < mc; ++r) {
      const float* src = a + (long)(m0 + r) * rs;
      float* d = dst + (long)r * K;
      if (cs == 1)
        std::memcpy(d, src, K * sizeof(float));
      else
        for (int k = 0; k < K; ++k) d[k] = src[(long)k * cs];
    }
  }
};

// C[M x N] = rows(A)[M x K] · B, B given packed (NR = NV*VL); threaded over row tiles.
template <int MR, int NV>
void gathered_gemm_t(int M, int N, int K, const Gather& a, const float* bp, float* c) {
  // Row tile: about 128 KiB of A, a multiple of MR.
  int mc = std::max(MR, std::min(192, (32768 / std::max(K, 1)) / MR * MR));
  int tiles = (M + mc - 1) / mc;
  double flops = 2.0 * M * N * K;
  // Measured on AVX2 only (AVX-512 builds keep the gathered tile, unmeasured here).
  if (VL == 8 && !a.direct && a.seg > 0) {
    // Taps addressed in place (no copy): reduction blocks of whole taps, at most about KC.
    const int taps = K / a.seg;
    const int tblocks = (taps * a.seg + KC - 1) / KC;
    const int tstep = (taps + tblocks - 1) / tblocks;
    const float* zero = zeros(a.seg);
    constexpr int NR = NV * VL;
    const int panels = (N + NR - 1) / NR;
    auto body = [&](int tid, int t) {
      const int m0 = t * mc, rows = std::min(mc, M - m0);
      const int padded = (rows + MR - 1) / MR * MR;
      std::vector<const float*>& ind = scratch()[tid].ind;
      if (ind.size() < (size_t)mc * taps) ind.resize((size_t)mc * taps);
      a.taps(m0, rows, ind.data(), zero);
      std::fill(ind.begin() + (long)rows * taps, ind.begin() + (long)padded * taps, zero);
      for (int t0 = 0; t0 < taps; t0 += tstep) {
        const int t1 = std::min(taps, t0 + tstep);
        for (int q = 0; q < panels; ++q) {
          const float* bpan = bp + (long)q * K * NR + (long)t0 * a.seg * NR;
          const int nr = std::min(NR, N - q * NR);
          for (int i = 0; i < rows; i += MR)
            micro_ind<MR, NV>(t0, t1, a.seg, ind.data() + (long)i * taps, taps, bpan,
                              c + (long)(m0 + i) * N + q * NR, N, std::min(MR, rows - i), nr,
                              t0 > 0);
        }
      }
    };
    if (flops < 3e6)
      for (int t = 0; t < tiles; ++t) body(0, t);
    else
      parallel_for(tiles, body);
    return;
  }
  auto body = [&](int tid, int t) {
    int m0 = t * mc;
    int rows = std::min(mc, M - m0);
    int padded = (rows + MR - 1) / MR * MR;
    const float* tile;
    if (a.direct && padded == rows) {
      tile = a.direct + (long)m0 * K;
    } else {
      float* buf = scratch()[tid].a.get((size_t)mc * K + 16);
      a.rows(m0, rows, buf);
      if (padded > rows)
        std::memset(buf + (long)rows * K, 0, (size_t)(padded - rows) * K * sizeof(float));
      tile = buf;
    }
    tile_gemm<MR, NV>(rows, N, K, tile, bp, c + (long)m0 * N, N);
  };
  if (flops < 3e6) {
    for (int t = 0; t < tiles; ++t) body(0, t);
  } else {
    parallel_for(tiles, body);
  }
}

// a · b over n floats: VL partial sums, then the tail.
inline float dot(const float* a, const float* b, int n) {
  vf acc = vf{};
  int k = 0;
  for (; k + VL <= n; k += VL)
    acc += *reinterpret_cast<const vfu*>(a + k) * *reinterpret_cast<const vfu*>(b + k);
  float s = 0.f;
  for (int l = 0; l < VL; ++l) s += acc[l];
  for (; k < n; ++k) s += a[k] * b[k];
  return s;
}

// c[M] = rows(A)[M x K] · b[K] (element k at b[k*rsb]): one output channel, where a GEMM
// micro-kernel would compute 16 columns to keep one.
void gathered_gemv(int M, int K, const Gather& a, const BView& b, float* c) {
  std::vector<float> w(K);
  for (int k = 0; k < K; ++k) w[k] = *b.row(k);
  const int mc = std::max(16, std::min(1024, 65536 / std::max(K, 1)));
  const int tiles = (M + mc - 1) / mc;
  auto body = [&](int tid, int t) {
    const int m0 = t * mc, rows = std::min(mc, M - m0);
    const float* tile = a.direct ? a.direct + (long)m0 * K : nullptr;
    if (!tile) {
      float* buf = scratch()[tid].a.get((size_t)mc * K + 16);
      a.rows(m0, rows, buf);
      tile = buf;
    }
    for (int r = 0; r < rows; ++r) c[m0 + r] = dot(tile + (long)r * K, w.data(), K);
  };
  if ((double)M * K < 1e6) {
    for (int t = 0; t < tiles; ++t) body(0, t);
  } else {
    parallel_for(tiles, body);
  }
}

void gathered_gemm(int M, int N, int K, const Gather& a, const BView& b, float* c) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    std::memset(c, 0, (size_t)M * N * sizeof(float));
    return;
  }
  if (N == 1) {
    gathered_gemv(M, K, a, b, c);
    return;
  }
  const int NR = N <= VL ? VL : WIDE_NV * VL;
  int panels = (N + NR - 1) / NR;
  float* bp = shared_b().get((size_t)panels * K * NR);
  pack_b(b, K, N, NR, bp);
  if (NR == VL)
    gathered_gemm_t<NARROW_MR, 1>(M, N, K, a, bp, c);
  else
    gathered_gemm_t<WIDE_MR, WIDE_NV>(M, N, K, a, bp, c);
}

// dF[K x N] = rows(A)^T · D, with rows(A) M x K gathered and D = dy [M x N] row-major.
// Each thread accumulates its own partial over chunks of M, then the partials are summed.
template <int MR, int NV>
void gemm_at_b_t(int M, int N, int K, const Gather& a, const float* d, float* out) {
  constexpr int NR = NV * VL;
  const int panels = (N + NR - 1) / NR;
  const int npad = panels * NR;
  const int kpad = (K + MR - 1) / MR * MR;
  // Chunk of M rows: about 256 KiB of gathered A.
  int chunk = std::max(16, std::min(512, 65536 / std::max(K, 1)));
  int chunks = (M + chunk - 1) / chunk;
  double flops = 2.0 * M * N * K;
  // At most 16 tasks, each summing into its own partial; the partials are added in task order,
  // so the result is the same however the pool shares the tasks out, and whatever its size.
  std::vector<AlignedBuf>& partial = task_partials();
  int tasks = flops < 3e6 ? 1 : std::min(chunks, 16);
  auto body = [&](int tid, int task) {
    float* cpart = partial[task].get((size_t)kpad * npad);
    std::memset(cpart, 0, (size_t)kpad * npad * sizeof(float));
    float* abuf = scratch()[tid].a.get((size_t)chunk * K + kpad + 16);
    float* bbuf = scratch()[tid].b.get((size_t)panels * chunk * NR);
    int c0 = (int)((long)chunks * task / tasks), c1 = (int)((long)chunks * (task + 1) / tasks);
    for (int ch = c0; ch < c1; ++ch) {
      int m0 = ch * chunk;
      int rows = std::min(chunk, M - m0);
      // The K tail of the micro-kernel reads up to kpad - K floats past a row: the next row
      // (its products land in rows >= K of the partial, never read), or after the last row
      // zero padding.
      const float* at = abuf;
      if (a.direct && (kpad == K || m0 + rows < M)) {
        at = a.direct + (long)m0 * K;
      } else {
        a.rows(m0, rows, abuf);
        std::memset(abuf + (long)rows * K, 0, (size_t)(kpad + 16) * sizeof(float));
      }
      // dy rows exactly one panel wide are that panel already.
      const float* bpk = bbuf;
      if (VL == 8 && N == NR)  // measured on AVX2 only
        bpk = d + (long)m0 * N;
      else
        pack_b(BView{d + (long)m0 * N, N, 1, rows, 0}, rows, N, NR, bbuf);
      for (int q = 0; q < panels; ++q) {
        const float* bpan = bpk + (long)q * rows * NR;
        for (int i = 0; i < K; i += MR) {
          // A element (r, p) = abuf[p*K + i + r]: row r of A^T is column i+r of the chunk.
          micro<MR, NV>(rows, at + i, 1, K, bpan, cpart + (long)i * npad + q * NR, npad, MR, NR,
                        true);
        }
      }
    }
  };
  if (tasks <= 1) {
    for (int t = 0; t < tasks; ++t) body(0, t);
  } else {
    parallel_for(tasks, body);
  }
  if (tasks == 0) std::memset(out, 0, (size_t)K * N * sizeof(float));
  for (int t = 0; t < tasks; ++t) {
    const float* p = partial[t].p;
    for (int k = 0; k < K; ++k) {
      float* o = out + (long)k * N;
      const float* s = p + (long)k * npad;
      if (t == 0)
        std::memcpy(o, s, N * sizeof(float));
      else
        for (int j = 0; j < N; ++j) o[j] += s[j];
    }
  }
}

// out[K] = rows(A)^T · d[M]: the filter gradient of a convolution with one output channel.
// Per-task partial sums, added in task order (as gemm_at_b_t).
void gemv_at(int M, int K, const Gather& a, const float* d, float* out) {
  const int chunk = std::max(16, std::min(1024, 65536 / std::max(K, 1)));
  const int chunks = (M + chunk - 1) / chunk;
  const int tasks = (double)M * K < 1e6 ? 1 : std::min(chunks, 16);
  std::vector<double> partial((size_t)tasks * K, 0.0);
  auto body = [&](int tid, int task) {
    float* buf = scratch()[tid].a.get((size_t)chunk * K + 16);
    std::vector<float> acc(K, 0.f);
    const int c0 = (int)((long)chunks * task / tasks), c1 = (int)((long)chunks * (task + 1) / tasks);
    for (int ch = c0; ch < c1; ++ch) {
      const int m0 = ch * chunk, rows = std::min(chunk, M - m0);
      const float* tile = buf;
      if (a.direct)
        tile = a.direct + (long)m0 * K;
      else
        a.rows(m0, rows, buf);
      for (int r = 0; r < rows; ++r) {
        const float dv = d[m0 + r];
        const float* row = tile + (long)r * K;
        for (int k = 0; k < K; ++k) acc[k] += row[k] * dv;
      }
    }
    for (int k = 0; k < K; ++k) partial[(size_t)task * K + k] = acc[k];
  };
  if (tasks == 1) {
    body(0, 0);
  } else {
    parallel_for(tasks, body);
  }
  for (int k = 0; k < K; ++k) {
    double sum = 0;
    for (int t = 0; t < tasks; ++t) sum += partial[(size_t)t * K + k];
    out[k] = (float)sum;
  }
}

void gemm_at_b(int M, int N, int K, const Gather& a, const float* d, float* out) {
  if (N == 1)
    gemv_at(M, K, a, d, out);
  else if (N <= VL)
    gemm_at_b_t<NARROW_MR, 1>(M, N, K, a, d, out);
  else
    gemm_at_b_t<WIDE_MR, WIDE_NV>(M, N, K, a, d, out);
}

}  // namespace

void conv2d_forward(const ConvGeom& g, const float* x, const float* f, float* y) {
  const int M = g.n * g.ho * g.wo;
  const int K = g.kh * g.kw * g.ci;
  Im2col a(g, x);
  gathered_gemm(M, g.co, K, a, BView{f, g.co, 1, K, 0}, y);
}

void conv2d_backprop_input(const ConvGeom& g, const float* dy, const float* f, float* dx) {
  const int M = g.n * g.h * g.w;
  const int K = g.kh * g.kw * g.co;
  DyGather a(g, dy);
  // B element ((i,j,o), c) = f[i, j, c, o]: for tap t = i*kw+j and k = t*co + o, offset
  // t*ci*co + o + c*co, one strided block per tap (packed straight from f, no transpose).
  gathered_gemm(M, g.ci, K, a, BView{f, 1, g.co, g.co, (long)g.ci * g.co}, dx);
}

void conv2d_backprop_filter(const ConvGeom& g, const float* x, const float* dy, float* df) {
  const int M = g.n * g.ho * g.wo;
  const int K = g.kh * g.kw * g.ci;
  Im2col a(g, x);
  gemm_at_b(M, g.co, K, a, dy, df);
}

void batch_matmul(int batch, int m, int n, int k, const float* a, int64_t a_stride, bool trans_a,
                  const float* b, int64_t b_stride, bool trans_b, float* c) {
  for (int i = 0; i < batch; ++i) {
    const float* ai = a + i * a_stride;
    const float* bi = b + i * b_stride;
    MatRows rows(ai, trans_a ? 1 : k, trans_a ? m : 1, k);
    gathered_gemm(m, n, k, rows, BView{bi, trans_b ? 1 : n, trans_b ? k : 1, k, 0},
                  c + (int64_t)i * m * n);
  }
}

}  // namespace pw
