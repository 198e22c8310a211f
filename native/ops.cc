#include "ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "exp_f.h"
#include "pool.h"

namespace pw {
namespace {

constexpr int64_t kParallelMin = 1 << 17;  // elements below which one thread is faster

// Splits [0, n) into about `parts` ranges and runs fn(begin, end) on the pool.
template <class F>
void split_range(int64_t n, int64_t grain, F fn) {
  int threads = pool_threads();
  if (n < kParallelMin || threads == 1 || n < 2 * grain) {
    fn(0, n);
    return;
  }
  int tasks = (int)std::min<int64_t>(threads * 4, n / grain);
  parallel_for(tasks, [&](int, int t) {
    int64_t b = n * t / tasks, e = n * (t + 1) / tasks;
    fn(b, e);
  });
}

template <int OP>
inline float bin(float x, float y) {
  if (OP == kAdd) return x + y;
  if (OP == kSub) return x - y;
  if (OP == kMultiply) return x * y;
  if (OP == kRealDiv) return x / y;
  if (OP == kSquaredDifference) return (x - y) * (x - y);
  if (OP == kMaximum) return (x != x || y != y) ? NAN : (x > y ? x : y);
  return (x != x || y != y) ? NAN : (x < y ? x : y);
}

template <int OP>
inline void bin_run(const float* __restrict a, int64_t sa, const float* __restrict b, int64_t sb,
                    float* __restrict o, int64_t n) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) o[i] = bin<OP>(a[i], b[i]);
  } else if (sa == 1) {
    const float y = b[0];
    for (int64_t i = 0; i < n; ++i) o[i] = bin<OP>(a[i], y);
  } else if (sb == 1) {
    const float x = a[0];
    for (int64_t i = 0; i < n; ++i) o[i] = bin<OP>(x, b[i]);
  } else {
    const float v = bin<OP>(a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  }
}

constexpr int kMaxRank = 8;

// Gathers the block (d1 x d0 elements, strides s1/s0) of an operand into dst.
inline void gather_block(const float* src, int64_t d1, int64_t s1, int64_t d0, int64_t s0,
                         float* dst) {
  for (int64_t i = 0; i < d1; ++i)
    for (int64_t j = 0; j < d0; ++j) dst[i * d0 + j] = src[i * s1 + j * s0];
}

template <int OP>
void binary_t(const float* a, const float* b, float* out, int rank, const int64_t* dims,
              const int64_t* sa, const int64_t* sb) {
  // The row is the innermost collapsed axis, or the innermost two when the last one is short
  // (GroupNorm's [.., G, C/G] broadcasts): an operand whose row is not contiguous is gathered
  // into a small buffer, reused while its offset stays the same (it usually repeats).
  const bool two = rank >= 2 && dims[rank - 1] < 64 && dims[rank - 1] * dims[rank - 2] <= 16384;
  const int rdims = two ? 2 : 1;
  const int64_t d0 = dims[rank - 1], d1 = two ? dims[rank - 2] : 1;
  const int64_t s0a = sa[rank - 1], s1a = two ? sa[rank - 2] : 0;
  const int64_t s0b = sb[rank - 1], s1b = two ? sb[rank - 2] : 0;
  const int64_t inner = d0 * d1;
  const int outer_rank = rank - rdims;
  int64_t rows = 1;
  for (int d = 0; d < outer_rank; ++d) rows *= dims[d];
  // Operand row access: contiguous (stride 1 over the row), constant (all strides 0), or gathered.
  auto kind = [&](int64_t s0, int64_t s1) {
    if (s0 == 0 && s1 == 0) return 0;                 // constant
    if (s0 == 1 && (!two || s1 == d0)) return 1;      // contiguous
    return 2;                                         // gather
  };
  const int ka = kind(s0a, s1a), kb = kind(s0b, s1b);
  split_range(rows * inner, std::max<int64_t>(inner, 4096), [&](int64_t e0, int64_t e1) {
    std::vector<float> ga(ka == 2 ? inner : 0), gb(kb == 2 ? inner : 0);
    int64_t last_oa = -1, last_ob = -1;
    // Rows are split at element granularity when there are few of them (one long row).
    for (int64_t e = e0; e < e1;) {
      int64_t r = e / inner, c0 = e % inner;
      int64_t len = std::min(inner - c0, e1 - e);
      int64_t rem = r, oa = 0, ob = 0;
      for (int d = outer_rank - 1; d >= 0; --d) {
        int64_t i = rem % dims[d];
        rem /= dims[d];
        oa += i * sa[d];
        ob += i * sb[d];
      }
      const float* pa;
      const float* pb;
      int64_t ia = 1, ib = 1;
      if (ka == 2) {
        if (oa != last_oa) gather_block(a + oa, d1, s1a, d0, s0a, ga.data());
        last_oa = oa;
        pa = ga.data() + c0;
      } else if (ka == 0) {
        pa = a + oa;
        ia = 0;
      } else {
        pa = a + oa + c0;
      }
      if (kb == 2) {
        if (ob != last_ob) gather_block(b + ob, d1, s1b, d0, s0b, gb.data());
        last_ob = ob;
        pb = gb.data() + c0;
      } else if (kb == 0) {
        pb = b + ob;
        ib = 0;
      } else {
        pb = b + ob + c0;
      }
      bin_run<OP>(pa, ia, pb, ib, out + e, len);
      e += len;
    }
  });
}

}  // namespace

void binary(int op, const float* a, const int* ashape, int arank, const float* b,
            const int* bshape, int brank, float* out, const int* oshape, int orank) {
  if (orank == 0) {
    const int one = 1;
    binary(op, a, &one, 0, b, &one, 0, out, &one, 1);
    return;
  }
  int64_t od[kMaxRank], as[kMaxRank], bs[kMaxRank];
  // Right-aligned element strides, 0 where broadcast.
  int64_t acc_a = 1, acc_b = 1;
  for (int d = orank - 1; d >= 0; --d) {
    od[d] = oshape[d];
    int ai = d - (orank - arank), bi = d - (orank - brank);
    int64_t ad = ai >= 0 ? ashape[ai] : 1, bd = bi >= 0 ? bshape[bi] : 1;
    as[d] = (ad == 1 && od[d] != 1) ? 0 : acc_a;
    bs[d] = (bd == 1 && od[d] != 1) ? 0 : acc_b;
    acc_a *= ad;
    acc_b *= bd;
  }
  // Drop size-1 dims, then merge neighbours whose strides chain.
  int64_t cd[kMaxRank], ca[kMaxRank], cb[kMaxRank];
  int n = 0;
  for (int d = 0; d < orank; ++d) {
    if (od[d] == 1) continue;
    if (n > 0 && ca[n - 1] == as[d] * od[d] && cb[n - 1] == bs[d] * od[d]) {
      cd[n - 1] *= od[d];
      ca[n - 1] = as[d];
      cb[n - 1] = bs[d];
    } else {
      cd[n] = od[d];
      ca[n] = as[d];
      cb[n] = bs[d];
      ++n;
    }
  }
  if (n == 0) {
    cd[0] = 1;
    ca[0] = 1;
    cb[0] = 1;
    n = 1;
  }
  switch (op) {
    case kAdd: binary_t<kAdd>(a, b, out, n, cd, ca, cb); break;
    case kSub: binary_t<kSub>(a, b, out, n, cd, ca, cb); break;
    case kMultiply: binary_t<kMultiply>(a, b, out, n, cd, ca, cb); break;
    case kRealDiv: binary_t<kRealDiv>(a, b, out, n, cd, ca, cb); break;
    case kSquaredDifference: binary_t<kSquaredDifference>(a, b, out, n, cd, ca, cb); break;
    case kMaximum: binary_t<kMaximum>(a, b, out, n, cd, ca, cb); break;
    case kMinimum: binary_t<kMinimum>(a, b, out, n, cd, ca, cb); break;
  }
}

namespace {

// erf by Abramowitz & Stegun 7.1.26 (absolute error <= 1.5e-7), the formula tfjs's cpu
// backend uses, so both backends agree.
inline float erf_f(float x) {
  const float v = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * v);
  const float poly =
      ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t +
       0.254829592f) *
      t;
  const float y = 1.0f - poly * exp_f(-v * v);
  return x < 0 ? -y : (x != x ? x : y);
}

// Exact GELU x·Φ(x) and its derivative Φ(x) + x·φ(x).
inline float gelu_f(float v) { return 0.5f * v * (1.0f + erf_f(v * 0.70710678118654752f)); }
inline float gelu_grad_f(float v) {
  const float cdf = 0.5f * (1.0f + erf_f(v * 0.70710678118654752f));
  const float pdf = 0.39894228040143268f * exp_f(-0.5f * v * v);
  return cdf + v * pdf;
}

template <class F>
void map_unary(const float* x, float* out, int64_t n, F f) {
  split_range(n, 8192, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = f(x[i]);
  });
}
}  // namespace

void unary(int op, const float* x, float* out, int64_t n, float p0, float p1) {
  switch (op) {
    case kNeg: map_unary(x, out, n, [](float v) { return -v; }); break;
    case kSquare: map_unary(x, out, n, [](float v) { return v * v; }); break;
    case kSqrt: map_unary(x, out, n, [](float v) { return std::sqrt(v); }); break;
    case kRsqrt: map_unary(x, out, n, [](float v) { return 1.0f / std::sqrt(v); }); break;
    case kExp: map_unary(x, out, n, [](float v) { return exp_f(v); }); break;
    case kLog: map_unary(x, out, n, [](float v) { return std::log(v); }); break;
    case kErf: map_unary(x, out, n, [](float v) { return erf_f(v); }); break;
    case kAbs: map_unary(x, out, n, [](float v) { return std::fabs(v); }); break;
    case kRelu: map_unary(x, out, n, [](float v) { return v < 0 ? 0.0f : v; }); break;
    case kSigmoid: map_unary(x, out, n, [](float v) { return 1.0f / (1.0f + exp_f(-v)); }); break;
    case kTanh: map_unary(x, out, n, [](float v) { return std::tanh(v); }); break;
    case kReciprocal: map_unary(x, out, n, [](float v) { return 1.0f / v; }); break;
    case kClipByValue:
      map_unary(x, out, n, [p0, p1](float v) { return v != v ? v : std::min(p1, std::max(p0, v)); });
      break;
  }
}

void reduce(int op, const float* x, const int* shape, const int* mask, int rank, float* out) {
  // Collapse neighbouring axes with the same mask; drop size-1 axes.
  int64_t dims[kMaxRank];
  bool red[kMaxRank];
  int n = 0;
  int64_t total = 1, rcount = 1;
  for (int d = 0; d < rank; ++d) {
    total *= shape[d];
    if (mask[d]) rcount *= shape[d];
    if (shape[d] == 1) continue;
    bool r = mask[d] != 0;
    if (n > 0 && red[n - 1] == r) {
      dims[n - 1] *= shape[d];
    } else {
      dims[n] = shape[d];
      red[n] = r;
      ++n;
    }
  }
  int64_t osize = 1;
  for (int d = 0; d < n; ++d)
    if (!red[d]) osize *= dims[d];
  if (total == 0) {
    for (int64_t i = 0; i < osize; ++i) out[i] = op == kSum ? 0.f : (op == kMean ? NAN : (op == kMax ? -INFINITY : INFINITY));
    return;
  }
  if (n == 0) {
    dims[0] = 1;
    red[0] = false;
    n = 1;
  }
  // Output strides of the kept axes (0 for reduced ones).
  int64_t ost[kMaxRank];
  int64_t s = 1;
  for (int d = n - 1; d >= 0; --d) {
    ost[d] = red[d] ? 0 : s;
    if (!red[d]) s *= dims[d];
  }
  const bool is_max = op == kMax, is_min = op == kMin;
  const bool extremum = is_max || is_min;
  const double init = extremum ? (is_max ? -INFINITY : INFINITY) : 0.0;
  // Rows are the outer axes; each row covers the innermost one or two (alternating) axes.
  const bool two = n >= 2;
  const int64_t d0 = dims[n - 1], d1 = two ? dims[n - 2] : 1;
  const bool last_red = red[n - 1];
  const int64_t os1 = two ? ost[n - 2] : 0;
  const int64_t inner = d0 * d1;
  const int outer_rank = two ? n - 2 : n - 1;
  const int64_t rows = total / inner;
  // A fixed number of partial sums, whatever the thread count, so results do not depend on it.
  int tasks = (total < kParallelMin || osize * 4 > total) ? 1 : (int)std::min<int64_t>(4, rows);
  std::vector<std::vector<double>> accs(tasks);
  auto fold = [&](double m, double v) {
    if (v != v || m != m) return (double)NAN;
    return is_max ? std::max(m, v) : std::min(m, v);
  };
  auto body = [&](int, int t) {
    std::vector<double>& acc = accs[t];
    acc.assign(osize, init);
    int64_t r0 = rows * t / tasks, r1 = rows * (t + 1) / tasks;
    for (int64_t r = r0; r < r1; ++r) {
      int64_t rem = r, oo = 0;
      for (int d = outer_rank - 1; d >= 0; --d) {
        int64_t i = rem % dims[d];
        rem /= dims[d];
        oo += i * ost[d];
      }
      const float* src = x + r * inner;
      for (int64_t i = 0; i < d1; ++i) {
        const float* row = src + i * d0;
        if (last_red) {
          // Innermost axis reduced: one output per row of d0.
          double* dst = acc.data() + oo + i * os1;
          if (extremum) {
            double m = *dst;
            for (int64_t j = 0; j < d0; ++j) m = fold(m, row[j]);
            *dst = m;
          } else {
            double sum = 0;
            for (int64_t j = 0; j < d0; ++j) sum += row[j];
            *dst += sum;
          }
        } else {
          // Innermost axis kept: add the row into d0 outputs.
          double* dst = acc.data() + oo;
          if (extremum) {
            for (int64_t j = 0; j < d0; ++j) dst[j] = fold(dst[j], row[j]);
          } else {
            for (int64_t j = 0; j < d0; ++j) dst[j] += row[j];
          }
        }
      }
    }
  };
  if (tasks == 1) body(0, 0);
  else parallel_for(tasks, body);
  std::vector<double>& acc = accs[0];
  for (int t = 1; t < tasks; ++t) {
    for (int64_t i = 0; i < osize; ++i) acc[i] = extremum ? fold(acc[i], accs[t][i]) : acc[i] + accs[t][i];
  }
  const double scale = op == kMean ? 1.0 / (double)rcount : 1.0;
  for (int64_t i = 0; i < osize; ++i) out[i] = (float)(op == kMean ? acc[i] * scale : acc[i]);
}

void slice(const float* x, const int* shape, const int* begin, const int* size, int rank,
           float* out) {
  // Innermost run: trailing axes taken whole, plus the first partial one.
  int64_t run = 1;
  int d = rank - 1;
  while (d >= 0 && begin[d] == 0 && size[d] == shape[d]) run *= shape[d--];
  int64_t xstride[kMaxRank];
  int64_t st = 1;
  for (int k = rank - 1; k >= 0; --k) {
    xstride[k] = st;
    st *= shape[k];
  }
  if (d < 0) {
    std::memcpy(out, x, run * sizeof(float));
    return;
  }
  const int64_t seg = run * size[d];  // floats copied per row
  int64_t rows = 1;
  for (int k = 0; k < d; ++k) rows *= size[k];
  split_range(rows * seg, std::max<int64_t>(seg, 4096), [&](int64_t e0, int64_t e1) {
    int64_t rb = (e0 + seg - 1) / seg, re = (e1 + seg - 1) / seg;
    for (int64_t r = rb; r < re; ++r) {
      int64_t rem = r, off = (int64_t)begin[d] * xstride[d];
      for (int k = d - 1; k >= 0; --k) {
        int64_t i = rem % size[k];
        rem /= size[k];
        off += (i + begin[k]) * xstride[k];
      }
      std::memcpy(out + r * seg, x + off, seg * sizeof(float));
    }
  });
}

void concat_rows(const float* const* xs, const int64_t* widths, int count, int64_t outer,
                 float* out) {
  int64_t total = 0;
  for (int i = 0; i < count; ++i) total += widths[i];
  split_range(outer * total, std::max<int64_t>(total, 4096), [&](int64_t e0, int64_t e1) {
    int64_t rb = (e0 + total - 1) / total, re = (e1 + total - 1) / total;
    for (int64_t r = rb; r < re; ++r) {
      float* dst = out + r * total;
      for (int i = 0; i < count; ++i) {
        std::memcpy(dst, xs[i] + r * widths[i], widths[i] * sizeof(float));
        dst += widths[i];
      }
    }
  });
}

void avg_pool(const float* x, float* y, const int* g) {
  const int n = g[0], h = g[1], w = g[2], c = g[3], ho = g[4], wo = g[5], fh = g[6], fw = g[7],
            sh = g[8], sw = g[9], pt = g[10], pl = g[11];
  const int64_t rows = (int64_t)n * ho;
  split_range(rows * wo * c, (int64_t)wo * c, [&](int64_t e0, int64_t e1) {
    const int64_t seg = (int64_t)wo * c;
    int64_t rb = (e0 + seg - 1) / seg, re = (e1 + seg - 1) / seg;
    std::vector<float> acc(c);
    for (int64_t r = rb; r < re; ++r) {
      int b = (int)(r / ho), oy = (int)(r % ho);
      for (int ox = 0; ox < wo; ++ox) {
        std::fill(acc.begin(), acc.end(), 0.f);
        int count = 0;
        for (int i = 0; i < fh; ++i) {
          int iy = oy * sh - pt + i;
          if (iy < 0 || iy >= h) continue;
          for (int j = 0; j < fw; ++j) {
            int ix = ox * sw - pl + j;
            if (ix < 0 || ix >= w) continue;
            const float* src = x + (((int64_t)b * h + iy) * w + ix) * c;
            for (int k = 0; k < c; ++k) acc[k] += src[k];
            ++count;
          }
        }
        float* dst = y + (r * wo + ox) * c;
        for (int k = 0; k < c; ++k) dst[k] = count > 0 ? acc[k] / (float)count : 0.f;
      }
    }
  });
}

void avg_pool_grad(const float* dy, float* dx, const int* g) {
  const int n = g[0], h = g[1], w = g[2], c = g[3], ho = g[4], wo = g[5], fh = g[6], fw = g[7],
            sh = g[8], sw = g[9], pt = g[10], pl = g[11];
  const float scale = 1.0f / (float)(fh * fw);
  // Gather form: each input pixel sums the dy of the windows that cover it (race-free).
  const int64_t rows = (int64_t)n * h;
  split_range(rows * w * c, (int64_t)w * c, [&](int64_t e0, int64_t e1) {
    const int64_t seg = (int64_t)w * c;
    int64_t rb = (e0 + seg - 1) / seg, re = (e1 + seg - 1) / seg;
    for (int64_t r = rb; r < re; ++r) {
      int b = (int)(r / h), iy = (int)(r % h);
      for (int ix = 0; ix < w; ++ix) {
        float* dst = dx + (r * w + ix) * c;
        for (int k = 0; k < c; ++k) dst[k] = 0.f;
        for (int i = 0; i < fh; ++i) {
          int ny = iy + pt - i;
          if (ny < 0 || ny % sh != 0 || ny / sh >= ho) continue;
          int oy = ny / sh;
          for (int j = 0; j < fw; ++j) {
            int nx = ix + pl - j;
            if (nx < 0 || nx % sw != 0 || nx / sw >= wo) continue;
            const float* src = dy + (((int64_t)b * ho + oy) * wo + nx / sw) * c;
            for (int k = 0; k < c; ++k) dst[k] += src[k];
          }
        }
        for (int k = 0; k < c; ++k) dst[k] *= scale;
      }
    }
  });
}

void max_pool(const float* x, float* y, const int* g) {
  const int n = g[0], h = g[1], w = g[2], c = g[3], ho = g[4], wo = g[5], fh = g[6], fw = g[7],
            sh = g[8], sw = g[9], pt = g[10], pl = g[11];
  const int64_t rows = (int64_t)n * ho;
  split_range(rows * wo * c, (int64_t)wo * c, [&](int64_t e0, int64_t e1) {
    const int64_t seg = (int64_t)wo * c;
    int64_t rb = (e0 + seg - 1) / seg, re = (e1 + seg - 1) / seg;
    for (int64_t r = rb; r < re; ++r) {
      int b = (int)(r / ho), oy = (int)(r % ho);
      for (int ox = 0; ox < wo; ++ox) {
        float* dst = y + (r * wo + ox) * c;
        for (int k = 0; k < c; ++k) dst[k] = -std::numeric_limits<float>::infinity();
        for (int i = 0; i < fh; ++i) {
          int iy = oy * sh - pt + i;
          if (iy < 0 || iy >= h) continue;
          for (int j = 0; j < fw; ++j) {
            int ix = ox * sw - pl + j;
            if (ix < 0 || ix >= w) continue;
            const float* src = x + (((int64_t)b * h + iy) * w + ix) * c;
            for (int k = 0; k < c; ++k) dst[k] = src[k] > dst[k] ? src[k] : dst[k];
          }
        }
      }
    }
  });
}

void max_pool_grad(const float* dy, const float* x, float* dx, const int* g) {
  const int n = g[0], h = g[1], w = g[2], c = g[3], ho = g[4], wo = g[5], fh = g[6], fw = g[7],
            sh = g[8], sw = g[9], pt = g[10], pl = g[11];
  std::memset(dx, 0, sizeof(float) * (size_t)n * h * w * c);
  // Scatter per image (overlapping windows may add to one pixel; images are independent).
  auto body = [&](int, int b) {
    std::vector<int64_t> arg(c);
    std::vector<float> best(c);
    for (int oy = 0; oy < ho; ++oy) {
      for (int ox = 0; ox < wo; ++ox) {
        std::fill(arg.begin(), arg.end(), (int64_t)-1);
        std::fill(best.begin(), best.end(), -std::numeric_limits<float>::infinity());
        for (int i = 0; i < fh; ++i) {
          int iy = oy * sh - pt + i;
          if (iy < 0 || iy >= h) continue;
          for (int j = 0; j < fw; ++j) {
            int ix = ox * sw - pl + j;
            if (ix < 0 || ix >= w) continue;
            const int64_t at = (((int64_t)b * h + iy) * w + ix) * c;
            for (int k = 0; k < c; ++k) {
              if (arg[k] < 0 || x[at + k] > best[k]) {
                best[k] = x[at + k];
                arg[k] = at + k;
              }
            }
          }
        }
        const float* src = dy + (((int64_t)b * ho + oy) * wo + ox) * c;
        for (int k = 0; k < c; ++k)
          if (arg[k] >= 0) dx[arg[k]] += src[k];
      }
    }
  };
  if ((int64_t)n * h * w * c < kParallelMin) {
    for (int b = 0; b < n; ++b) body(0, b);
  } else {
    parallel_for(n, body);
  }
}

void resize_bilinear(const float* x, float* y, const int* g, const int* ylo, const int* yhi,
                     const float* yfrac, const int* xlo, const int* xhi, const float* xfrac) {
  const int n = g[0], h = g[1], w = g[2], c = g[3], ho = g[4], wo = g[5];
  const int64_t rows = (int64_t)n * ho, seg = (int64_t)wo * c;
  split_range(rows * seg, seg, [&](int64_t e0, int64_t e1) {
    int64_t rb = (e0 + seg - 1) / seg, re = (e1 + seg - 1) / seg;
    for (int64_t r = rb; r < re; ++r) {
      int b = (int)(r / ho), oy = (int)(r % ho);
      const float* top = x + ((int64_t)b * h + ylo[oy]) * w * c;
      const float* bot = x + ((int64_t)b * h + yhi[oy]) * w * c;
      const float fy = yfrac[oy];
      float* dst = y + r * seg;
      for (int ox = 0; ox < wo; ++ox) {
        const float* tl = top + (int64_t)xlo[ox] * c;
        const float* tr = top + (int64_t)xhi[ox] * c;
        const float* bl = bot + (int64_t)xlo[ox] * c;
        const float* br = bot + (int64_t)xhi[ox] * c;
        const float fx = xfrac[ox];
        float* d = dst + (int64_t)ox * c;
        for (int k = 0; k < c; ++k) {
          const float t = tl[k] + (tr[k] - tl[k]) * fx;
          const float u = bl[k] + (br[k] - bl[k]) * fx;
          d[k] = t + (u - t) * fy;
        }
      }
    }
  });
}

void resize_bilinear_grad(const float* dy, float* dx, const int* g, const int* ylo,
                          const int* yhi, const float* yfrac, const int* xlo, const int* xhi,
                          const float* xfrac) {
  const int n = g[0], h = g[1], w = g[2], c = g[3], ho = g[4], wo = g[5];
  std::memset(dx, 0, sizeof(float) * (size_t)n * h * w * c);
  auto body = [&](int, int b) {
    for (int oy = 0; oy < ho; ++oy) {
      float* top = dx + ((int64_t)b * h + ylo[oy]) * w * c;
      float* bot = dx + ((int64_t)b * h + yhi[oy]) * w * c;
      const float fy = yfrac[oy], gy = 1.f - fy;
      const float* srow = dy + ((int64_t)b * ho + oy) * wo * c;
      for (int ox = 0; ox < wo; ++ox) {
        const float fx = xfrac[ox], gx = 1.f - fx;
        const float wtl = gy * gx, wtr = gy * fx, wbl = fy * gx, wbr = fy * fx;
        float* tl = top + (int64_t)xlo[ox] * c;
        float* tr = top + (int64_t)xhi[ox] * c;
        float* bl = bot + (int64_t)xlo[ox] * c;
        float* br = bot + (int64_t)xhi[ox] * c;
        const float* s = srow + (int64_t)ox * c;
        for (int k = 0; k < c; ++k) {
          tl[k] += s[k] * wtl;
          tr[k] += s[k] * wtr;
          bl[k] += s[k] * wbl;
          br[k] += s[k] * wbr;
        }
      }
    }
  };
  if ((int64_t)n * ho * wo * c < kParallelMin) {
    for (int b = 0; b < n; ++b) body(0, b);
  } else {
    parallel_for(n, body);
  }
}

void resize_nearest(const float* x, float* y, const int* g, const int* ymap, const int* xmap) {
  const int n = g[0], h = g[1], w = g[2], c = g[3], ho = g[4], wo = g[5];
  const int64_t rows = (int64_t)n * ho, seg = (int64_t)wo * c;
  split_range(rows * seg, seg, [&](int64_t e0, int64_t e1) {
    int64_t rb = (e0 + seg - 1) / seg, re = (e1 + seg - 1) / seg;
    for (int64_t r = rb; r < re; ++r) {
      int b = (int)(r / ho), oy = (int)(r % ho);
      const float* src = x + ((int64_t)b * h + ymap[oy]) * w * c;
      float* dst = y + r * seg;
      for (int ox = 0; ox < wo; ++ox) std::memcpy(dst + (int64_t)ox * c, src + (int64_t)xmap[ox] * c, c * sizeof(float));
    }
  });
}

void resize_nearest_grad(const float* dy, float* dx, const int* g, const int* ymap,
                         const int* xmap) {
  const int n = g[0], h = g[1], w = g[2], c = g[3], ho = g[4], wo = g[5];
  // Scatter-add per image (images are independent, so threads split the batch).
  std::memset(dx, 0, sizeof(float) * (size_t)n * h * w * c);
  auto body = [&](int, int b) {
    for (int oy = 0; oy < ho; ++oy) {
      float* drow = dx + ((int64_t)b * h + ymap[oy]) * w * c;
      const float* srow = dy + ((int64_t)b * ho + oy) * wo * c;
      for (int ox = 0; ox < wo; ++ox) {
        float* d = drow + (int64_t)xmap[ox] * c;
        const float* s = srow + (int64_t)ox * c;
        for (int k = 0; k < c; ++k) d[k] += s[k];
      }
    }
  };
  if ((int64_t)n * ho * wo * c < kParallelMin) {
    for (int b = 0; b < n; ++b) body(0, b);
  } else {
    parallel_for(n, body);
  }
}

}  // namespace pw

namespace pw {

void group_norm(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                float* rstd, int b, int64_t hw, int c, int g, float eps, bool gelu_after) {
  const int cg = c / g;
  const double count = (double)hw * cg;
  auto body = [&](int, int i) {
    const float* xb = x + (int64_t)i * hw * c;
    float* yb = y + (int64_t)i * hw * c;
    // One pass for both moments: per channel, the sums of d = x − x₀ and d² (x₀ the image's first
    // pixel, a shift that keeps E[d²] − E[d]² free of cancellation), in float over blocks of
    // 32 pixels (vector lanes) and in double across blocks.
    // Per-thread scratch (no allocation per image): floats shift0, bs, bss, m, r, scale,
    // shift, mc; doubles s, ss, md.
    thread_local std::vector<float> fbuf;
    thread_local std::vector<double> dbuf;
    fbuf.resize((size_t)7 * c + 2 * g);
    dbuf.resize((size_t)2 * c + g);
    float* shift0 = fbuf.data();
    float* bs = shift0 + c;
    float* bss = bs + c;
    float* scale = bss + c;
    float* shift = scale + c;
    float* mc = shift + c;
    float* m = mc + c;
    float* r = m + g;
    double* s = dbuf.data();
    double* ss = s + c;
    double* md = ss + c;
    std::copy(xb, xb + c, shift0);
    std::fill(s, s + 2 * c, 0.0);
    for (int64_t p0 = 0; p0 < hw; p0 += 32) {
      const int64_t p1 = std::min<int64_t>(hw, p0 + 32);
      std::fill(bs, bs + 2 * c, 0.f);
      for (int64_t p = p0; p < p1; ++p) {
        const float* row = xb + p * c;
        for (int k = 0; k < c; ++k) {
          const float d = row[k] - shift0[k];
          bs[k] += d;
          bss[k] += d * d;
        }
      }
      for (int k = 0; k < c; ++k) {
        s[k] += bs[k];
        ss[k] += bss[k];
      }
    }
    for (int q = 0; q < g; ++q) {
      double t = 0;
      for (int k = q * cg; k < (q + 1) * cg; ++k) t += s[k] + (double)shift0[k] * hw;
      md[q] = t / count;
      m[q] = (float)md[q];
    }
    for (int k = 0; k < c; ++k) mc[k] = m[k / cg];
    for (int q = 0; q < g; ++q) {
      // Σ(x − m)² over the group = Σ_k [Σd² + 2(x₀ − m)Σd + hw(x₀ − m)²].
      double t = 0;
      for (int k = q * cg; k < (q + 1) * cg; ++k) {
        const double e = (double)shift0[k] - md[q];
        t += ss[k] + 2 * e * s[k] + hw * e * e;
      }
      float var = (float)(t / count);
      r[q] = 1.0f / std::sqrt(var + eps);
      mean[(int64_t)i * g + q] = m[q];
      rstd[(int64_t)i * g + q] = r[q];
    }
    for (int k = 0; k < c; ++k) {
      scale[k] = r[k / cg] * gamma[k];
      shift[k] = beta[k] - mc[k] * scale[k];
    }
    for (int64_t p = 0; p < hw; ++p) {
      const float* row = xb + p * c;
      float* out = yb + p * c;
      if (gelu_after) {
        for (int k = 0; k < c; ++k) out[k] = gelu_f(row[k] * scale[k] + shift[k]);
      } else {
        for (int k = 0; k < c; ++k) out[k] = row[k] * scale[k] + shift[k];
      }
    }
  };
  if ((int64_t)b * hw * c < kParallelMin) {
    for (int i = 0; i < b; ++i) body(0, i);
  } else {
    parallel_for(b, body);
  }
}

void group_norm_grad(const float* dy, const float* x, const float* gamma, const float* beta,
                     const float* mean, const float* rstd, float* dx, float* dgamma,
                     float* dbeta, int b, int64_t hw, int c, int g, bool gelu_after) {
  const int cg = c / g;
  const double count = (double)hw * cg;
  const int threads = pool_threads();
  // Each image's share of dgamma and dbeta, added in image order after the loop (so the sums
  // do not depend on which thread took which image).
  std::vector<double> pg((size_t)b * c), pb((size_t)b * c);
  auto body = [&](int, int i) {
    const float* xb = x + (int64_t)i * hw * c;
    const float* db = dy + (int64_t)i * hw * c;
    float* out = dx + (int64_t)i * hw * c;
    std::vector<float> mc(c), rc(c);
    for (int k = 0; k < c; ++k) {
      mc[k] = mean[(int64_t)i * g + k / cg];
      rc[k] = rstd[(int64_t)i * g + k / cg];
    }
    if (gelu_after) {
      // The gradient reaching the GroupNorm's output: dz = dy·GELU'(z), z recomputed as the
      // forward pass computed it; kept in dx, which the passes below then read in place.
      std::vector<float> scale(c), shift(c);
      for (int k = 0; k < c; ++k) {
        scale[k] = rc[k] * gamma[k];
        shift[k] = beta[k] - mc[k] * scale[k];
      }
      for (int64_t p = 0; p < hw; ++p) {
        const float* xr = xb + p * c;
        const float* dr = db + p * c;
        float* o = out + p * c;
        for (int k = 0; k < c; ++k) o[k] = dr[k] * gelu_grad_f(xr[k] * scale[k] + shift[k]);
      }
      db = out;
    }
    // Per channel: sum(dy), sum(dy·xhat) (this image's shares of dbeta and dgamma); the group
    // sums of dxhat = dy·gamma follow from them.
    double* sdy = pb.data() + (size_t)i * c;
    double* sdyx = pg.data() + (size_t)i * c;
    for (int64_t p = 0; p < hw; ++p) {
      const float* xr = xb + p * c;
      const float* dr = db + p * c;
      for (int k = 0; k < c; ++k) {
        float xh = (xr[k] - mc[k]) * rc[k];
        sdy[k] += dr[k];
        sdyx[k] += (double)dr[k] * xh;
      }
    }
    std::vector<float> a(c), bb(c);
    for (int q = 0; q < g; ++q) {
      double s1 = 0, s2 = 0;
      for (int k = q * cg; k < (q + 1) * cg; ++k) {
        s1 += sdy[k] * gamma[k];
        s2 += sdyx[k] * gamma[k];
      }
      for (int k = q * cg; k < (q + 1) * cg; ++k) {
        a[k] = (float)(s1 / count);
        bb[k] = (float)(s2 / count);
      }
    }
    // dx = rstd·(dy·gamma − mean(dxhat) − xhat·mean(dxhat·xhat)).
    for (int64_t p = 0; p < hw; ++p) {
      const float* xr = xb + p * c;
      const float* dr = db + p * c;
      float* o = out + p * c;
      for (int k = 0; k < c; ++k) {
        float xh = (xr[k] - mc[k]) * rc[k];
        o[k] = rc[k] * (dr[k] * gamma[k] - a[k] - xh * bb[k]);
      }
    }
  };
  if ((int64_t)b * hw * c < kParallelMin || threads == 1) {
    for (int i = 0; i < b; ++i) body(0, i);
  } else {
    parallel_for(b, body);
  }
  for (int k = 0; k < c; ++k) {
    double sg = 0, sb = 0;
    for (int i = 0; i < b; ++i) {
      sg += pg[(size_t)i * c + k];
      sb += pb[(size_t)i * c + k];
    }
    dgamma[k] = (float)sg;
    dbeta[k] = (float)sb;
  }
}

void gelu(const float* x, float* y, int64_t n) {
  split_range(n, 8192, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = gelu_f(x[i]);
  });
}

void gelu_grad(const float* dy, const float* x, float* dx, int64_t n) {
  split_range(n, 8192, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * gelu_grad_f(x[i]);
  });
}

namespace {

// Contraction into FMAs would round m·b1 + g·(1−b1) once instead of twice and drift from tfjs.
__attribute__((noinline, optimize("fp-contract=off"))) void adam_ema_run(
    int64_t len, float* __restrict p, const float* __restrict g, float* __restrict m,
    float* __restrict v, float* __restrict e, const float* c) {
  const float b1 = c[0], c1 = c[1], b2 = c[2], c2 = c[3], k1 = c[4], k2 = c[5], eps = c[6],
              nlr = c[7], d = c[8], cd = c[9];
  for (int64_t i = 0; i < len; ++i) {
    const float gi = g[i];
    const float mi = m[i] * b1 + gi * c1;
    const float vi = v[i] * b2 + (gi * gi) * c2;
    m[i] = mi;
    v[i] = vi;
    const float mh = mi / k1;
    const float vh = vi / k2;
    const float pi = (mh / (std::sqrt(vh) + eps)) * nlr + p[i];
    p[i] = pi;
    e[i] = e[i] * d + pi * cd;
  }
}

}  // namespace

void adam_ema(int count, const int64_t* n, float* const* p, const float* const* g,
              float* const* m, float* const* v, float* const* e, const float* c) {
  constexpr int64_t kChunk = 16384;
  int64_t total = 0;
  for (int i = 0; i < count; ++i) total += n[i];
  if (total < kParallelMin || pool_threads() == 1) {
    for (int i = 0; i < count; ++i) adam_ema_run(n[i], p[i], g[i], m[i], v[i], e[i], c);
    return;
  }
  // Tasks are (tensor, chunk) pairs, so small tensors and big ones share the threads alike.
  std::vector<std::pair<int, int64_t>> tasks;
  for (int i = 0; i < count; ++i)
    for (int64_t b = 0; b < n[i]; b += kChunk) tasks.emplace_back(i, b);
  parallel_for((int)tasks.size(), [&](int, int t) {
    const int i = tasks[t].first;
    const int64_t b = tasks[t].second;
    adam_ema_run(std::min(kChunk, n[i] - b), p[i] + b, g[i] + b, m[i] + b, v[i] + b, e[i] + b,
                 c);
  });
}

}  // namespace pw
