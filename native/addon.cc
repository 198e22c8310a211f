// N-API entry points. Every kernel takes Float32Arrays owned by JS (tfjs tensor storage) and
// writes into a preallocated output array, so nothing is copied across the boundary.
//
// One dispatcher serves every entry: it takes the addon's lock, hands the call's arguments to
// the kernel's adapter through `Args` (which reads them in order and checks their types), and
// turns the first failed check into one TypeError naming the entry. An adapter only states
// its arguments, checks their sizes and calls the kernel; the table at the end exports them.
#include <napi.h>

#include <malloc.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "attention.h"
#include "block.h"
#include "gemm.h"
#include "ops.h"
#include "pool.h"

namespace {

// Kernels share per-thread scratch and one pool; Node worker threads that load the addon too
// take turns.
std::mutex& call_mutex() {
  static std::mutex* m = new std::mutex();
  return *m;
}

template <class T>
struct Span {
  T* p = nullptr;
  size_t n = 0;
};

// The arguments of one call, read in order. A failed read or check records the first error
// and makes every later read return an empty span, so an adapter reads straight through and
// tests `ok()` once before calling its kernel.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* name) : info_(info), name_(name) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  Napi::Env env() const { return info_.Env(); }

  // Records `what` as the error unless `cond` holds; returns cond.
  bool check(bool cond, const char* what) {
    if (!cond && ok()) error_ = std::string("phasewatch_native.") + name_ + ": " + what;
    return cond;
  }

  Span<float> f32() {
    static float empty[16];
    return typed<float, napi_float32_array>("a Float32Array", empty);
  }
  Span<const int32_t> i32() {
    static int32_t ones[1] = {1};
    Span<int32_t> s = typed<int32_t, napi_int32_array>("an Int32Array", ones);
    return {s.p, s.n};
  }

  // An Int32Array of exactly N parameters, copied out.
  template <size_t N>
  bool ints(int (&out)[N]) {
    Span<const int32_t> s = i32();
    if (!ok() || !check(s.n == N, "wrong number of parameters")) return false;
    for (size_t k = 0; k < N; ++k) out[k] = s.p[k];
    return true;
  }

  double number(double fallback) {
    size_t i = next_++;
    if (!ok()) return fallback;
    if (info_.Length() <= i || info_[i].IsUndefined()) return fallback;
    if (!check(info_[i].IsNumber(), "expected a number")) return fallback;
    return info_[i].As<Napi::Number>().DoubleValue();
  }

  // An array of Float32Arrays.
  std::vector<Span<float>> f32_list() {
    size_t i = next_++;
    std::vector<Span<float>> out;
    if (!ok() || !check(info_.Length() > i && info_[i].IsArray(), "expected an array")) return out;
    Napi::Array list = info_[i].As<Napi::Array>();
    for (uint32_t k = 0; k < list.Length(); ++k) {
      Napi::Value v = list.Get(k);
      if (!check(v.IsTypedArray() &&
                     v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array,
                 "expected an array of Float32Arrays")) {
        return {};
      }
      Napi::Float32Array a = v.As<Napi::Float32Array>();
      static float empty[16];
      out.push_back({a.ElementLength() == 0 ? empty : a.Data(), a.ElementLength()});
    }
    return out;
  }

  // An array of numbers, as int64.
  std::vector<int64_t> int_list() {
    size_t i = next_++;
    std::vector<int64_t> out;
    if (!ok() || !check(info_.Length() > i && info_[i].IsArray(), "expected an array")) return out;
    Napi::Array list = info_[i].As<Napi::Array>();
    for (uint32_t k = 0; k < list.Length(); ++k) {
      Napi::Value v = list.Get(k);
      if (!check(v.IsNumber(), "expected an array of numbers")) return {};
      out.push_back(v.As<Napi::Number>().Int64Value());
    }
    return out;
  }

 private:
  // An empty array may have no backing store; it gets `empty`, a harmless non-null pointer.
  template <class T, napi_typedarray_type Type>
  Span<T> typed(const char* kind, T* empty) {
    size_t i = next_++;
    if (!ok()) return {};
    bool is = info_.Length() > i && info_[i].IsTypedArray() &&
              info_[i].As<Napi::TypedArray>().TypedArrayType() == Type;
    if (!check(is, (std::string("expected ") + kind + " argument").c_str())) return {};
    Napi::TypedArrayOf<T> a = info_[i].As<Napi::TypedArrayOf<T>>();
    return {a.ElementLength() == 0 ? empty : a.Data(), a.ElementLength()};
  }

  const Napi::CallbackInfo& info_;
  const char* name_;
  size_t next_ = 0;
  std::string error_;
};

size_t sz(int64_t a, int64_t b, int64_t c, int64_t d) { return (size_t)(a * b * c * d); }

int64_t prod(const int32_t* s, size_t n) {
  int64_t p = 1;
  for (size_t k = 0; k < n; ++k) p *= s[k];
  return p;
}

bool read_geom(Args& a, pw::ConvGeom* g) {
  int v[15];
  if (!a.ints(v)) return false;
  *g = pw::ConvGeom{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
                    v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  bool nonneg = true;
  for (int k = 0; k < 15; ++k) nonneg = nonneg && v[k] >= 0;
  return a.check(nonneg, "negative conv parameter") &&
         a.check(g->sh >= 1 && g->sw >= 1 && g->dh >= 1 && g->dw >= 1,
                 "strides and dilations must be >= 1");
}

// ---- adapters: (arguments as in engine/backend/native/addon.ts) ------------------------------

// conv2d(x, filter, y, geom)
void Conv2d(Args& a) {
  auto x = a.f32(), f = a.f32(), y = a.f32();
  pw::ConvGeom g;
  if (!read_geom(a, &g)) return;
  if (a.check(x.n >= sz(g.n, g.h, g.w, g.ci) && f.n >= sz(g.kh, g.kw, g.ci, g.co) &&
                  y.n >= sz(g.n, g.ho, g.wo, g.co),
              "array too short for its shape"))
    pw::conv2d_forward(g, x.p, f.p, y.p);
}

// conv2dBackpropInput(dy, filter, dx, geom)
void Conv2dBackpropInput(Args& a) {
  auto dy = a.f32(), f = a.f32(), dx = a.f32();
  pw::ConvGeom g;
  if (!read_geom(a, &g)) return;
  if (a.check(dy.n >= sz(g.n, g.ho, g.wo, g.co) && f.n >= sz(g.kh, g.kw, g.ci, g.co) &&
                  dx.n >= sz(g.n, g.h, g.w, g.ci),
              "array too short for its shape"))
    pw::conv2d_backprop_input(g, dy.p, f.p, dx.p);
}

// conv2dBackpropFilter(x, dy, dfilter, geom)
void Conv2dBackpropFilter(Args& a) {
  auto x = a.f32(), dy = a.f32(), df = a.f32();
  pw::ConvGeom g;
  if (!read_geom(a, &g)) return;
  if (a.check(x.n >= sz(g.n, g.h, g.w, g.ci) && dy.n >= sz(g.n, g.ho, g.wo, g.co) &&
                  df.n >= sz(g.kh, g.kw, g.ci, g.co),
              "array too short for its shape"))
    pw::conv2d_backprop_filter(g, x.p, dy.p, df.p);
}

// batchMatMul(a, b, c, [batch, m, n, k, aBatchStride, bBatchStride, transA, transB])
void BatchMatMul(Args& a) {
  auto A = a.f32(), B = a.f32(), C = a.f32();
  int p[8];
  if (!a.ints(p)) return;
  int batch = p[0], m = p[1], n = p[2], k = p[3];
  int64_t as = p[4], bs = p[5];
  if (a.check(batch >= 0 && m >= 0 && n >= 0 && k >= 0 && as >= 0 && bs >= 0 &&
                  A.n >= (size_t)(as * (batch - 1) + (int64_t)m * k) * (batch > 0) &&
                  B.n >= (size_t)(bs * (batch - 1) + (int64_t)k * n) * (batch > 0) &&
                  C.n >= (size_t)((int64_t)batch * m * n),
              "bad shape"))
    pw::batch_matmul(batch, m, n, k, A.p, as, p[6] != 0, B.p, bs, p[7] != 0, C.p);
}

// binary(op, a, aShape, b, bShape, out, outShape)
void Binary(Args& a) {
  int op = (int)a.number(-1);
  auto A = a.f32();
  auto as = a.i32();
  auto B = a.f32();
  auto bs = a.i32();
  auto O = a.f32();
  auto os = a.i32();
  if (!a.ok()) return;
  bool ok = op >= 0 && op < pw::kBinaryOpCount && as.n <= os.n && bs.n <= os.n && os.n <= 8 &&
            (size_t)prod(as.p, as.n) <= A.n && (size_t)prod(bs.p, bs.n) <= B.n &&
            (size_t)prod(os.p, os.n) <= O.n;
  for (size_t d = 0; ok && d < os.n; ++d) {
    int od = os.p[d];
    int ad = d + as.n >= os.n ? as.p[d + as.n - os.n] : 1;
    int bd = d + bs.n >= os.n ? bs.p[d + bs.n - os.n] : 1;
    ok = (ad == od || ad == 1) && (bd == od || bd == 1);
  }
  if (a.check(ok, "bad op or shapes"))
    pw::binary(op, A.p, as.p, (int)as.n, B.p, bs.p, (int)bs.n, O.p, os.p, (int)os.n);
}

// unary(op, x, out, p0?, p1?)
void Unary(Args& a) {
  int op = (int)a.number(-1);
  auto x = a.f32(), o = a.f32();
  float p0 = (float)a.number(0), p1 = (float)a.number(0);
  if (a.ok() && a.check(op >= 0 && op < pw::kUnaryOpCount && o.n >= x.n, "bad op or sizes"))
    pw::unary(op, x.p, o.p, (int64_t)x.n, p0, p1);
}

// reduce(op, x, shape, mask, out)
void Reduce(Args& a) {
  int op = (int)a.number(-1);
  auto x = a.f32();
  auto shape = a.i32(), mask = a.i32();
  auto o = a.f32();
  if (!a.ok()) return;
  int64_t kept = 1;
  for (size_t d = 0; d < shape.n && mask.n == shape.n; ++d)
    if (!mask.p[d]) kept *= shape.p[d];
  if (a.check(op >= 0 && op < pw::kReduceOpCount && mask.n == shape.n && shape.n <= 8 &&
                  (size_t)prod(shape.p, shape.n) <= x.n && (size_t)kept <= o.n,
              "bad op or shapes"))
    pw::reduce(op, x.p, shape.p, mask.p, (int)shape.n, o.p);
}

// slice(x, shape, begin, size, out)
void Slice(Args& a) {
  auto x = a.f32();
  auto shape = a.i32(), begin = a.i32(), size = a.i32();
  auto o = a.f32();
  if (!a.ok()) return;
  bool ok = shape.n == begin.n && begin.n == size.n && shape.n <= 8 &&
            (size_t)prod(shape.p, shape.n) <= x.n && (size_t)prod(size.p, size.n) <= o.n;
  for (size_t d = 0; ok && d < shape.n; ++d)
    ok = begin.p[d] >= 0 && size.p[d] >= 0 && begin.p[d] + size.p[d] <= shape.p[d];
  if (a.check(ok, "bad shapes") && prod(size.p, size.n) > 0)
    pw::slice(x.p, shape.p, begin.p, size.p, (int)shape.n, o.p);
}

// concat(inputs: Float32Array[], widths: number[], outer, out)
void Concat(Args& a) {
  auto xs = a.f32_list();
  auto widths = a.int_list();
  int64_t outer = (int64_t)a.number(-1);
  auto o = a.f32();
  if (!a.ok() || !a.check(widths.size() == xs.size() && outer >= 0, "bad arguments")) return;
  std::vector<const float*> ptrs(xs.size());
  int64_t total = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (!a.check(widths[i] >= 0 && (int64_t)xs[i].n >= widths[i] * outer, "input too short"))
      return;
    ptrs[i] = xs[i].p;
    total += widths[i];
  }
  if (a.check((int64_t)o.n >= total * outer, "output too short"))
    pw::concat_rows(ptrs.data(), widths.data(), (int)xs.size(), outer, o.p);
}

// avgPool(x, y, g[12]) / avgPoolGrad(dy, dx, g[12])
template <bool Grad>
void AvgPool(Args& a) {
  auto s = a.f32(), d = a.f32();
  int g[12];
  if (!a.ints(g)) return;
  int64_t in = (int64_t)g[0] * g[1] * g[2] * g[3], out = (int64_t)g[0] * g[4] * g[5] * g[3];
  bool ok = g[6] > 0 && g[7] > 0 && g[8] > 0 && g[9] > 0;
  for (int k = 0; k < 12; ++k) ok = ok && g[k] >= 0;
  if (!a.check(ok && (size_t)(Grad ? out : in) <= s.n && (size_t)(Grad ? in : out) <= d.n,
               "bad shapes"))
    return;
  if (Grad) pw::avg_pool_grad(s.p, d.p, g);
  else pw::avg_pool(s.p, d.p, g);
}

// resizeNearest(x, y, g[6], ymap, xmap) / resizeNearestGrad(dy, dx, g[6], ymap, xmap)
template <bool Grad>
void ResizeNearest(Args& a) {
  auto s = a.f32(), d = a.f32();
  int g[6];
  if (!a.ints(g)) return;
  auto ymap = a.i32(), xmap = a.i32();
  if (!a.ok()) return;
  int64_t in = (int64_t)g[0] * g[1] * g[2] * g[3], out = (int64_t)g[0] * g[4] * g[5] * g[3];
  bool ok = ymap.n == (size_t)g[4] && xmap.n == (size_t)g[5];
  for (int k = 0; k < 6; ++k) ok = ok && g[k] >= 0;
  for (size_t i = 0; ok && i < ymap.n; ++i) ok = ymap.p[i] >= 0 && ymap.p[i] < g[1];
  for (size_t i = 0; ok && i < xmap.n; ++i) ok = xmap.p[i] >= 0 && xmap.p[i] < g[2];
  if (!a.check(ok && (size_t)(Grad ? out : in) <= s.n && (size_t)(Grad ? in : out) <= d.n,
               "bad shapes"))
    return;
  if (Grad) pw::resize_nearest_grad(s.p, d.p, g, ymap.p, xmap.p);
  else pw::resize_nearest(s.p, d.p, g, ymap.p, xmap.p);
}

// maxPool(x, y, g[12]) / maxPoolGrad(dy, x, dx, g[12])
void MaxPool(Args& a) {
  auto s = a.f32(), d = a.f32();
  int g[12];
  if (!a.ints(g)) return;
  int64_t in = (int64_t)g[0] * g[1] * g[2] * g[3], out = (int64_t)g[0] * g[4] * g[5] * g[3];
  bool ok = g[6] > 0 && g[7] > 0 && g[8] > 0 && g[9] > 0;
  for (int k = 0; k < 12; ++k) ok = ok && g[k] >= 0;
  if (a.check(ok && (size_t)in <= s.n && (size_t)out <= d.n, "bad shapes"))
    pw::max_pool(s.p, d.p, g);
}

void MaxPoolGrad(Args& a) {
  auto dy = a.f32(), x = a.f32(), dx = a.f32();
  int g[12];
  if (!a.ints(g)) return;
  int64_t in = (int64_t)g[0] * g[1] * g[2] * g[3], out = (int64_t)g[0] * g[4] * g[5] * g[3];
  bool ok = g[6] > 0 && g[7] > 0 && g[8] > 0 && g[9] > 0;
  for (int k = 0; k < 12; ++k) ok = ok && g[k] >= 0;
  if (a.check(ok && (size_t)out <= dy.n && (size_t)in <= x.n && (size_t)in <= dx.n,
              "bad shapes"))
    pw::max_pool_grad(dy.p, x.p, dx.p, g);
}

// resizeBilinear(x, y, g[6], ylo, yhi, yfrac, xlo, xhi, xfrac) / resizeBilinearGrad(dy, dx, …)
template <bool Grad>
void ResizeBilinear(Args& a) {
  auto s = a.f32(), d = a.f32();
  int g[6];
  if (!a.ints(g)) return;
  auto ylo = a.i32(), yhi = a.i32();
  auto yfrac = a.f32();
  auto xlo = a.i32(), xhi = a.i32();
  auto xfrac = a.f32();
  if (!a.ok()) return;
  int64_t in = (int64_t)g[0] * g[1] * g[2] * g[3], out = (int64_t)g[0] * g[4] * g[5] * g[3];
  bool ok = ylo.n == (size_t)g[4] && yhi.n == (size_t)g[4] && yfrac.n == (size_t)g[4] &&
            xlo.n == (size_t)g[5] && xhi.n == (size_t)g[5] && xfrac.n == (size_t)g[5];
  for (int k = 0; k < 6; ++k) ok = ok && g[k] >= 0;
  for (size_t i = 0; ok && i < ylo.n; ++i)
    ok = ylo.p[i] >= 0 && ylo.p[i] < g[1] && yhi.p[i] >= 0 && yhi.p[i] < g[1];
  for (size_t i = 0; ok && i < xlo.n; ++i)
    ok = xlo.p[i] >= 0 && xlo.p[i] < g[2] && xhi.p[i] >= 0 && xhi.p[i] < g[2];
  if (!a.check(ok && (size_t)(Grad ? out : in) <= s.n && (size_t)(Grad ? in : out) <= d.n,
               "bad shapes"))
    return;
  if (Grad)
    pw::resize_bilinear_grad(s.p, d.p, g, ylo.p, yhi.p, yfrac.p, xlo.p, xhi.p, xfrac.p);
  else
    pw::resize_bilinear(s.p, d.p, g, ylo.p, yhi.p, yfrac.p, xlo.p, xhi.p, xfrac.p);
}

// groupNorm(x, gamma, beta, y, mean, rstd, [b, hw, c, g, gelu], eps)
void GroupNorm(Args& a) {
  auto x = a.f32(), gamma = a.f32(), beta = a.f32(), y = a.f32(), mean = a.f32(),
       rstd = a.f32();
  int p[5];
  if (!a.ints(p)) return;
  float eps = (float)a.number(0);
  size_t n = (size_t)p[0] * p[1] * p[2], bg = (size_t)p[0] * p[3];
  if (a.check(p[0] >= 0 && p[1] >= 0 && p[2] > 0 && p[3] > 0 && p[2] % p[3] == 0 &&
                  n <= x.n && n <= y.n && (size_t)p[2] <= gamma.n && (size_t)p[2] <= beta.n &&
                  bg <= mean.n && bg <= rstd.n,
              "bad shapes"))
    pw::group_norm(x.p, gamma.p, beta.p, y.p, mean.p, rstd.p, p[0], p[1], p[2], p[3], eps,
                   p[4] != 0);
}

// groupNormGrad(dy, x, gamma, beta, mean, rstd, dx, dgamma, dbeta, [b, hw, c, g, gelu])
void GroupNormGrad(Args& a) {
  Span<float> s[9];
  for (auto& v : s) v = a.f32();
  int p[5];
  if (!a.ints(p)) return;
  size_t n = (size_t)p[0] * p[1] * p[2], bg = (size_t)p[0] * p[3], c = (size_t)p[2];
  if (a.check(p[0] >= 0 && p[1] >= 0 && p[2] > 0 && p[3] > 0 && p[2] % p[3] == 0 &&
                  n <= s[0].n && n <= s[1].n && c <= s[2].n && c <= s[3].n && bg <= s[4].n &&
                  bg <= s[5].n && n <= s[6].n && c <= s[7].n && c <= s[8].n,
              "bad shapes"))
    pw::group_norm_grad(s[0].p, s[1].p, s[2].p, s[3].p, s[4].p, s[5].p, s[6].p, s[7].p,
                        s[8].p, p[0], p[1], p[2], p[3], p[4] != 0);
}

// gelu(x, y)
void Gelu(Args& a) {
  auto x = a.f32(), y = a.f32();
  if (a.ok() && a.check(y.n >= x.n, "output too short")) pw::gelu(x.p, y.p, (int64_t)x.n);
}

// geluGrad(dy, x, dx)
void GeluGrad(Args& a) {
  auto dy = a.f32(), x = a.f32(), dx = a.f32();
  if (a.ok() && a.check(dy.n >= x.n && dx.n >= x.n, "arrays differ in length"))
    pw::gelu_grad(dy.p, x.p, dx.p, (int64_t)x.n);
}

// softmax(x, y, [rows, cols]): over the last axis.
void Softmax(Args& a) {
  auto x = a.f32(), y = a.f32();
  int p[2];
  if (!a.ints(p)) return;
  size_t n = (size_t)p[0] * p[1];
  if (a.check(p[0] >= 0 && p[1] > 0 && x.n >= n && y.n >= n, "bad shape"))
    pw::softmax_rows(x.p, y.p, p[0], p[1]);
}

// attention(qkv, o, lse, [b, n, heads, d]): qkv [b, n, 3·heads·d] (q, k, v packed), o [b, n,
// heads·d], lse [b, heads, n].
void Attention(Args& a) {
  Span<float> s[3];
  for (auto& v : s) v = a.f32();
  int p[4];
  if (!a.ints(p)) return;
  size_t n = sz(p[0], p[1], p[2], p[3]), rows = sz(p[0], p[1], p[2], 1);
  if (a.check(p[0] >= 0 && p[1] >= 0 && p[2] > 0 && p[3] > 0 && s[0].n / 3 >= n &&
                  s[1].n >= n && s[2].n >= rows,
              "bad shapes"))
    a.check(pw::attention_forward(s[0].p, s[1].p, s[2].p, p[0], p[1], p[2], p[3]),
            "head size over 1024");
}

// attentionGrad(qkv, o, lse, dy, dqkv, [b, n, heads, d])
void AttentionGrad(Args& a) {
  Span<float> s[5];
  for (auto& v : s) v = a.f32();
  int p[4];
  if (!a.ints(p)) return;
  size_t n = sz(p[0], p[1], p[2], p[3]), rows = sz(p[0], p[1], p[2], 1);
  if (a.check(p[0] >= 0 && p[1] >= 0 && p[2] > 0 && p[3] > 0 && s[0].n / 3 >= n &&
                  s[1].n >= n && s[2].n >= rows && s[3].n >= n && s[4].n / 3 >= n,
              "bad shapes"))
    a.check(pw::attention_backward(s[0].p, s[1].p, s[2].p, s[3].p, s[4].p, p[0], p[1], p[2],
                                   p[3]),
            "head size over 1024");
}

// adamEma(params, grads, m, v, ema: Float32Array[] (one entry per tensor), coef: Float32Array)
// Updates params, m, v and ema in place; see pw::adam_ema for coef.
void AdamEma(Args& a) {
  std::vector<Span<float>> lists[5];
  for (auto& l : lists) l = a.f32_list();
  auto c = a.f32();
  if (!a.ok() || !a.check(c.n >= 10, "expected 10 coefficients")) return;
  const size_t count = lists[0].size();
  std::vector<float*> ptr[5];
  std::vector<int64_t> n(count);
  for (size_t k = 0; k < 5; ++k) {
    if (!a.check(lists[k].size() == count, "the arrays differ in length")) return;
    for (size_t i = 0; i < count; ++i) {
      if (k == 0) n[i] = (int64_t)lists[k][i].n;
      else if (!a.check((int64_t)lists[k][i].n == n[i], "a tensor's arrays differ in length"))
        return;
      ptr[k].push_back(lists[k][i].p);
    }
  }
  pw::adam_ema((int)count, n.data(), ptr[0].data(), ptr[1].data(), ptr[2].data(), ptr[3].data(),
               ptr[4].data(), c.p);
}

// ---- the double-conv block (native/block.h) ---------------------------------------------------

// The sizes a block's arrays must have, by role.
enum BlockArray { kX, kW1, kMid, kW2, kOut, kBias, kY, kH1, kStats1, kStats2, kDx };

// Reads a block's trailing arguments, geom1, geom2, [groups1, groups2, residual, bias,
// inputGrad], eps, checks its shape and that every array in `arrays` (roles `roles`) is long
// enough (bias and dx may be empty without a bias or an input gradient).
template <size_t N>
bool read_block(Args& a, Span<float> (&arrays)[N], const BlockArray (&roles)[N],
                pw::ConvBlockShape* s, bool* bias, bool* input_grad) {
  int p[5];
  if (!read_geom(a, &s->conv1) || !read_geom(a, &s->conv2) || !a.ints(p)) return false;
  s->groups1 = p[0];
  s->groups2 = p[1];
  s->residual = p[2] != 0;
  *bias = p[3] != 0;
  *input_grad = p[4] != 0;
  s->eps = (float)a.number(1e-5);
  const pw::ConvGeom &c1 = s->conv1, &c2 = s->conv2;
  if (!a.check(c2.n == c1.n && c2.h == c1.ho && c2.w == c1.wo && c2.ci == c1.co &&
                   s->groups1 > 0 && s->groups2 > 0 && c1.co % s->groups1 == 0 &&
                   c2.co % s->groups2 == 0,
               "conv2 does not follow conv1, or the groups do not divide the channels") ||
      !a.check(!s->residual || (!*bias && c2.ho == c1.h && c2.wo == c1.w && c2.co == c1.ci),
               "a residual block keeps its input's shape and has no bias"))
    return false;
  const size_t need[] = {sz(c1.n, c1.h, c1.w, c1.ci), sz(c1.kh, c1.kw, c1.ci, c1.co),
                         (size_t)c1.co, sz(c2.kh, c2.kw, c2.ci, c2.co), (size_t)c2.co,
                         *bias ? sz(c2.n, c2.co, 1, 1) : 0, sz(c2.n, c2.ho, c2.wo, c2.co),
                         sz(c1.n, c1.ho, c1.wo, c1.co), sz(c1.n, s->groups1, 1, 1),
                         sz(c1.n, s->groups2, 1, 1),
                         *input_grad ? sz(c1.n, c1.h, c1.w, c1.ci) : 0};
  bool ok = true;
  for (size_t i = 0; i < N; ++i) ok = ok && arrays[i].n >= need[roles[i]];
  return a.check(ok, "array too short for its shape");
}

// convBlock(x, w1, gamma1, beta1, w2, gamma2, beta2, bias, y, h1, h2, mean1, rstd1, mean2,
//           rstd2, geom1, geom2, [groups1, groups2, residual, hasBias, inputGrad], eps)
void ConvBlock(Args& a) {
  Span<float> s[15];
  for (auto& v : s) v = a.f32();
  static constexpr BlockArray roles[15] = {kX,  kW1, kMid, kMid,    kW2,     kOut,    kOut,   kBias,
                                           kY,  kH1, kY,   kStats1, kStats1, kStats2, kStats2};
  pw::ConvBlockShape shape;
  bool bias, input_grad;
  if (!read_block(a, s, roles, &shape, &bias, &input_grad)) return;
  pw::conv_block_forward(shape, s[0].p,
                         {s[1].p, s[2].p, s[3].p, s[4].p, s[5].p, s[6].p, bias ? s[7].p : nullptr},
                         s[8].p, {s[9].p, s[10].p, s[11].p, s[12].p, s[13].p, s[14].p});
}

// convBlockGrad(dy, x, w1, gamma1, beta1, w2, gamma2, beta2, h1, h2, mean1, rstd1, mean2, rstd2,
//               dx, dw1, dgamma1, dbeta1, dw2, dgamma2, dbeta2, dbias, geom1, geom2,
//               [groups1, groups2, residual, hasBias, inputGrad], eps); dx empty without
//               inputGrad
void ConvBlockGrad(Args& a) {
  Span<float> s[22];
  for (auto& v : s) v = a.f32();
  static constexpr BlockArray roles[22] = {
      kY,      kX,      kW1, kMid, kMid, kW2,  kOut, kOut, kH1,  kY,   kStats1,
      kStats1, kStats2, kStats2, kDx, kW1, kMid, kMid, kW2, kOut, kOut, kBias};
  pw::ConvBlockShape shape;
  bool bias, input_grad;
  if (!read_block(a, s, roles, &shape, &bias, &input_grad)) return;
  pw::conv_block_backward(
      shape, s[0].p, s[1].p, {s[2].p, s[3].p, s[4].p, s[5].p, s[6].p, s[7].p, nullptr},
      {s[8].p, s[9].p, s[10].p, s[11].p, s[12].p, s[13].p},
      {input_grad ? s[14].p : nullptr, s[15].p, s[16].p, s[17].p, s[18].p, s[19].p, s[20].p,
       bias ? s[21].p : nullptr});
}

// ---- the table -------------------------------------------------------------------------------

struct Entry {
  const char* name;
  void (*fn)(Args&);
};

constexpr Entry kEntries[] = {
    {"conv2d", Conv2d},
    {"conv2dBackpropInput", Conv2dBackpropInput},
    {"conv2dBackpropFilter", Conv2dBackpropFilter},
    {"batchMatMul", BatchMatMul},
    {"binary", Binary},
    {"unary", Unary},
    {"reduce", Reduce},
    {"slice", Slice},
    {"concat", Concat},
    {"avgPool", AvgPool<false>},
    {"avgPoolGrad", AvgPool<true>},
    {"resizeNearest", ResizeNearest<false>},
    {"resizeNearestGrad", ResizeNearest<true>},
    {"maxPool", MaxPool},
    {"maxPoolGrad", MaxPoolGrad},
    {"resizeBilinear", ResizeBilinear<false>},
    {"resizeBilinearGrad", ResizeBilinear<true>},
    {"groupNorm", GroupNorm},
    {"groupNormGrad", GroupNormGrad},
    {"gelu", Gelu},
    {"geluGrad", GeluGrad},
    {"softmax", Softmax},
    {"attention", Attention},
    {"attentionGrad", AttentionGrad},
    {"adamEma", AdamEma},
    {"convBlock", ConvBlock},
    {"convBlockGrad", ConvBlockGrad},
};

Napi::Value Dispatch(const Napi::CallbackInfo& info) {
  const Entry* entry = static_cast<const Entry*>(info.Data());
  std::string error;
  {
    std::lock_guard<std::mutex> lock(call_mutex());
    Args args(info, entry->name);
    entry->fn(args);
    error = args.error();
  }
  if (!error.empty()) Napi::TypeError::New(info.Env(), error).ThrowAsJavaScriptException();
  return info.Env().Undefined();
}

Napi::Value Threads(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(call_mutex());
  if (info.Length() > 0 && info[0].IsNumber()) {
    return Napi::Number::New(info.Env(),
                             pw::set_pool_threads(info[0].As<Napi::Number>().Int32Value()));
  }
  return Napi::Number::New(info.Env(), pw::pool_threads());
}

template <int N>
Napi::Array Names(Napi::Env env, const char* const (&names)[N]) {
  Napi::Array a = Napi::Array::New(env, N);
  for (int i = 0; i < N; ++i) a.Set((uint32_t)i, Napi::String::New(env, names[i]));
  return a;
}

// The addon is compiled with -march=native at install time; refuse to load (instead of dying
// on an illegal instruction) if the build directory was carried to an older CPU.
const char* missing_cpu_feature() {
  __builtin_cpu_init();
#if defined(__AVX512F__)
  if (!__builtin_cpu_supports("avx512f")) return "avx512f";
#endif
#if defined(__AVX2__)
  if (!__builtin_cpu_supports("avx2")) return "avx2";
#endif
#if defined(__FMA__)
  if (!__builtin_cpu_supports("fma")) return "fma";
#endif
  return nullptr;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (const char* feature = missing_cpu_feature()) {
    Napi::Error::New(env, std::string("phasewatch_native was built for a CPU with ") + feature +
                              "; rebuild it here (npm rebuild phasewatch)")
        .ThrowAsJavaScriptException();
    return exports;
  }
  // Tensor storage comes and goes in multi-megabyte blocks. By default glibc maps each one
  // fresh (and the first touch of every page then faults, ~5 ms per 8 MB here) and unmaps it
  // on free; keeping such blocks in the heap lets the next tensor reuse warm pages.
  // PHASEWATCH_MALLOC_TUNE=0 leaves glibc's defaults alone.
  const char* tune = std::getenv("PHASEWATCH_MALLOC_TUNE");
  if (!tune || std::string(tune) != "0") {
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  }
  for (const Entry& e : kEntries) {
    exports.Set(e.name, Napi::Function::New(env, Dispatch, e.name, const_cast<Entry*>(&e)));
  }
  exports.Set("threads", Napi::Function::New(env, Threads, "threads"));
  Napi::Object table = Napi::Object::New(env);
  table.Set("binary", Names(env, pw::kBinaryOpNames));
  table.Set("unary", Names(env, pw::kUnaryOpNames));
  table.Set("reduce", Names(env, pw::kReduceOpNames));
  exports.Set("opTable", table);
  return exports;
}

}  // namespace

NODE_API_MODULE(phasewatch_native, Init)
