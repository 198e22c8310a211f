// N-API entry points. Every function takes Float32Arrays owned by JS (tfjs tensor storage) and
// writes into a preallocated output array, so nothing is copied across the boundary.
#include <napi.h>

#include <malloc.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

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
#define PW_SERIALIZE std::lock_guard<std::mutex> pw_lock(call_mutex())

bool fail(const Napi::Env& env, const char* msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

// A Float32Array argument's data and length; throws (returns null) on anything else.
float* f32(const Napi::CallbackInfo& info, size_t i, size_t* len = nullptr) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    fail(info.Env(), "phasewatch_native: expected a Float32Array argument");
    return nullptr;
  }
  Napi::Float32Array a = info[i].As<Napi::Float32Array>();
  if (len) *len = a.ElementLength();
  // An empty array may have no backing store; hand out a harmless non-null pointer.
  static float empty[16];
  return a.ElementLength() == 0 ? empty : a.Data();
}

bool ints(const Napi::CallbackInfo& info, size_t i, int* out, size_t n) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[i].As<Napi::Int32Array>().ElementLength() != n) {
    return fail(info.Env(), "phasewatch_native: expected an Int32Array of parameters");
  }
  const int32_t* p = info[i].As<Napi::Int32Array>().Data();
  for (size_t k = 0; k < n; ++k) out[k] = p[k];
  return true;
}

bool geom(const Napi::CallbackInfo& info, size_t i, pw::ConvGeom* g) {
  int v[15];
  if (!ints(info, i, v, 15)) return false;
  *g = pw::ConvGeom{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
                    v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  for (int k = 0; k < 15; ++k)
    if (v[k] < 0) return fail(info.Env(), "phasewatch_native: negative conv parameter");
  if (g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1)
    return fail(info.Env(), "phasewatch_native: strides and dilations must be >= 1");
  return true;
}

size_t sz(int64_t a, int64_t b, int64_t c, int64_t d) { return (size_t)(a * b * c * d); }

// conv2d(x, filter, y, geom)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  pw::ConvGeom g;
  size_t lx, lf, ly;
  float* x = f32(info, 0, &lx);
  float* f = f32(info, 1, &lf);
  float* y = f32(info, 2, &ly);
  if (!x || !f || !y || !geom(info, 3, &g)) return info.Env().Undefined();
  if (lx < sz(g.n, g.h, g.w, g.ci) || lf < sz(g.kh, g.kw, g.ci, g.co) ||
      ly < sz(g.n, g.ho, g.wo, g.co)) {
    fail(info.Env(), "phasewatch_native.conv2d: array too short for its shape");
    return info.Env().Undefined();
  }
  pw::conv2d_forward(g, x, f, y);
  return info.Env().Undefined();
}

// conv2dBackpropInput(dy, filter, dx, geom)
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  pw::ConvGeom g;
  size_t ld, lf, lx;
  float* dy = f32(info, 0, &ld);
  float* f = f32(info, 1, &lf);
  float* dx = f32(info, 2, &lx);
  if (!dy || !f || !dx || !geom(info, 3, &g)) return info.Env().Undefined();
  if (ld < sz(g.n, g.ho, g.wo, g.co) || lf < sz(g.kh, g.kw, g.ci, g.co) ||
      lx < sz(g.n, g.h, g.w, g.ci)) {
    fail(info.Env(), "phasewatch_native.conv2dBackpropInput: array too short for its shape");
    return info.Env().Undefined();
  }
  pw::conv2d_backprop_input(g, dy, f, dx);
  return info.Env().Undefined();
}

// conv2dBackpropFilter(x, dy, dfilter, geom)
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  pw::ConvGeom g;
  size_t lx, ld, lf;
  float* x = f32(info, 0, &lx);
  float* dy = f32(info, 1, &ld);
  float* df = f32(info, 2, &lf);
  if (!x || !dy || !df || !geom(info, 3, &g)) return info.Env().Undefined();
  if (lx < sz(g.n, g.h, g.w, g.ci) || ld < sz(g.n, g.ho, g.wo, g.co) ||
      lf < sz(g.kh, g.kw, g.ci, g.co)) {
    fail(info.Env(), "phasewatch_native.conv2dBackpropFilter: array too short for its shape");
    return info.Env().Undefined();
  }
  pw::conv2d_backprop_filter(g, x, dy, df);
  return info.Env().Undefined();
}

// batchMatMul(a, b, c, [batch, m, n, k, aBatchStride, bBatchStride, transA, transB])
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  int p[8];
  size_t la, lb, lc;
  float* a = f32(info, 0, &la);
  float* b = f32(info, 1, &lb);
  float* c = f32(info, 2, &lc);
  if (!a || !b || !c || !ints(info, 3, p, 8)) return info.Env().Undefined();
  int batch = p[0], m = p[1], n = p[2], k = p[3];
  int64_t as = p[4], bs = p[5];
  if (batch < 0 || m < 0 || n < 0 || k < 0 || as < 0 || bs < 0 ||
      la < (size_t)(as * (batch - 1) + (int64_t)m * k) * (batch > 0) ||
      lb < (size_t)(bs * (batch - 1) + (int64_t)k * n) * (batch > 0) ||
      lc < (size_t)((int64_t)batch * m * n)) {
    fail(info.Env(), "phasewatch_native.batchMatMul: bad shape");
    return info.Env().Undefined();
  }
  pw::batch_matmul(batch, m, n, k, a, as, p[6] != 0, b, bs, p[7] != 0, c);
  return info.Env().Undefined();
}

// Int32Array argument of any length (n set to its length).
const int32_t* int_array(const Napi::CallbackInfo& info, size_t i, size_t* n) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    fail(info.Env(), "phasewatch_native: expected an Int32Array argument");
    return nullptr;
  }
  Napi::Int32Array a = info[i].As<Napi::Int32Array>();
  *n = a.ElementLength();
  static const int32_t kEmpty[1] = {1};
  return *n == 0 ? kEmpty : a.Data();
}

int64_t prod(const int32_t* s, size_t n) {
  int64_t p = 1;
  for (size_t k = 0; k < n; ++k) p *= s[k];
  return p;
}

int arg_int(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().Int32Value() : -1;
}

double arg_num(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : 0.0;
}

// binary(op, a, aShape, b, bShape, out, outShape)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  size_t la, lb, lo, ra, rb, ro;
  int op = arg_int(info, 0);
  float* a = f32(info, 1, &la);
  const int32_t* as = a ? int_array(info, 2, &ra) : nullptr;
  float* b = as ? f32(info, 3, &lb) : nullptr;
  const int32_t* bs = b ? int_array(info, 4, &rb) : nullptr;
  float* o = bs ? f32(info, 5, &lo) : nullptr;
  const int32_t* os = o ? int_array(info, 6, &ro) : nullptr;
  if (!os) return info.Env().Undefined();
  bool ok = op >= pw::kAdd && op <= pw::kMin && ra <= ro && rb <= ro && ro <= 8 &&
            (size_t)prod(as, ra) <= la && (size_t)prod(bs, rb) <= lb && (size_t)prod(os, ro) <= lo;
  for (size_t d = 0; ok && d < ro; ++d) {
    int od = os[d];
    int ad = d + ra >= ro ? as[d + ra - ro] : 1;
    int bd = d + rb >= ro ? bs[d + rb - ro] : 1;
    ok = (ad == od || ad == 1) && (bd == od || bd == 1);
  }
  if (!ok) {
    fail(info.Env(), "phasewatch_native.binary: bad op or shapes");
    return info.Env().Undefined();
  }
  pw::binary(op, a, as, (int)ra, b, bs, (int)rb, o, os, (int)ro);
  return info.Env().Undefined();
}

// unary(op, x, out, p0, p1)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  size_t lx, lo;
  int op = arg_int(info, 0);
  float* x = f32(info, 1, &lx);
  float* o = x ? f32(info, 2, &lo) : nullptr;
  if (!o) return info.Env().Undefined();
  if (op < pw::kNeg || op > pw::kClip || lo < lx) {
    fail(info.Env(), "phasewatch_native.unary: bad op or sizes");
    return info.Env().Undefined();
  }
  pw::unary(op, x, o, (int64_t)lx, (float)arg_num(info, 3), (float)arg_num(info, 4));
  return info.Env().Undefined();
}

// reduce(op, x, shape, mask, out)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  size_t lx, lo, rs, rm;
  int op = arg_int(info, 0);
  float* x = f32(info, 1, &lx);
  const int32_t* shape = x ? int_array(info, 2, &rs) : nullptr;
  const int32_t* mask = shape ? int_array(info, 3, &rm) : nullptr;
  float* o = mask ? f32(info, 4, &lo) : nullptr;
  if (!o) return info.Env().Undefined();
  int64_t kept = 1;
  for (size_t d = 0; d < rs && rm == rs; ++d)
    if (!mask[d]) kept *= shape[d];
  if (op < pw::kSum || op > pw::kRMin || rm != rs || rs > 8 || (size_t)prod(shape, rs) > lx ||
      (size_t)kept > lo) {
    fail(info.Env(), "phasewatch_native.reduce: bad op or shapes");
    return info.Env().Undefined();
  }
  pw::reduce(op, x, shape, mask, (int)rs, o);
  return info.Env().Undefined();
}

// slice(x, shape, begin, size, out)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  size_t lx, lo, r1, r2, r3;
  float* x = f32(info, 0, &lx);
  const int32_t* shape = x ? int_array(info, 1, &r1) : nullptr;
  const int32_t* begin = shape ? int_array(info, 2, &r2) : nullptr;
  const int32_t* size = begin ? int_array(info, 3, &r3) : nullptr;
  float* o = size ? f32(info, 4, &lo) : nullptr;
  if (!o) return info.Env().Undefined();
  bool ok = r1 == r2 && r2 == r3 && r1 <= 8 && (size_t)prod(shape, r1) <= lx &&
            (size_t)prod(size, r3) <= lo;
  for (size_t d = 0; ok && d < r1; ++d)
    ok = begin[d] >= 0 && size[d] >= 0 && begin[d] + size[d] <= shape[d];
  if (!ok) {
    fail(info.Env(), "phasewatch_native.slice: bad shapes");
    return info.Env().Undefined();
  }
  if (prod(size, r3) > 0) pw::slice(x, shape, begin, size, (int)r1, o);
  return info.Env().Undefined();
}

// concat(inputs: Float32Array[], widths: number[], outer, out)
Napi::Value Concat(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsArray() || !info[1].IsArray() || !info[2].IsNumber()) {
    fail(env, "phasewatch_native.concat: bad arguments");
    return env.Undefined();
  }
  Napi::Array xs = info[0].As<Napi::Array>();
  Napi::Array ws = info[1].As<Napi::Array>();
  int64_t outer = info[2].As<Napi::Number>().Int64Value();
  size_t lo;
  float* o = f32(info, 3, &lo);
  if (!o) return env.Undefined();
  uint32_t count = xs.Length();
  if (ws.Length() != count || outer < 0) {
    fail(env, "phasewatch_native.concat: bad arguments");
    return env.Undefined();
  }
  std::vector<const float*> ptrs(count);
  std::vector<int64_t> widths(count);
  int64_t total = 0;
  for (uint32_t i = 0; i < count; ++i) {
    Napi::Value xv = xs.Get(i);
    Napi::Value wv = ws.Get(i);
    if (!xv.IsTypedArray() || xv.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        !wv.IsNumber()) {
      fail(env, "phasewatch_native.concat: bad arguments");
      return env.Undefined();
    }
    Napi::Float32Array a = xv.As<Napi::Float32Array>();
    widths[i] = wv.As<Napi::Number>().Int64Value();
    if (widths[i] < 0 || (int64_t)a.ElementLength() < widths[i] * outer) {
      fail(env, "phasewatch_native.concat: input too short");
      return env.Undefined();
    }
    ptrs[i] = a.Data();
    total += widths[i];
  }
  if ((int64_t)lo < total * outer) {
    fail(env, "phasewatch_native.concat: output too short");
    return env.Undefined();
  }
  pw::concat_rows(ptrs.data(), widths.data(), (int)count, outer, o);
  return env.Undefined();
}

// avgPool(x, y, g[12]) / avgPoolGrad(dy, dx, g[12])
Napi::Value AvgPoolImpl(const Napi::CallbackInfo& info, bool grad) {
  size_t l0, l1;
  int g[12];
  float* a = f32(info, 0, &l0);
  float* b = a ? f32(info, 1, &l1) : nullptr;
  if (!b || !ints(info, 2, g, 12)) return info.Env().Undefined();
  int64_t in = (int64_t)g[0] * g[1] * g[2] * g[3], out = (int64_t)g[0] * g[4] * g[5] * g[3];
  bool ok = g[6] > 0 && g[7] > 0 && g[8] > 0 && g[9] > 0;
  for (int k = 0; k < 12; ++k) ok = ok && g[k] >= 0;
  if (!ok || (size_t)(grad ? out : in) > l0 || (size_t)(grad ? in : out) > l1) {
    fail(info.Env(), "phasewatch_native.avgPool: bad shapes");
    return info.Env().Undefined();
  }
  if (grad) pw::avg_pool_grad(a, b, g);
  else pw::avg_pool(a, b, g);
  return info.Env().Undefined();
}
Napi::Value AvgPool(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  return AvgPoolImpl(info, false);
}
Napi::Value AvgPoolGrad(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  return AvgPoolImpl(info, true);
}

// resizeNearest(x, y, g[6], ymap, xmap) / resizeNearestGrad(dy, dx, g[6], ymap, xmap)
Napi::Value ResizeImpl(const Napi::CallbackInfo& info, bool grad) {
  size_t l0, l1, ly, lx;
  int g[6];
  float* a = f32(info, 0, &l0);
  float* b = a ? f32(info, 1, &l1) : nullptr;
  if (!b || !ints(info, 2, g, 6)) return info.Env().Undefined();
  const int32_t* ymap = int_array(info, 3, &ly);
  const int32_t* xmap = ymap ? int_array(info, 4, &lx) : nullptr;
  if (!xmap) return info.Env().Undefined();
  int64_t in = (int64_t)g[0] * g[1] * g[2] * g[3], out = (int64_t)g[0] * g[4] * g[5] * g[3];
  bool ok = ly == (size_t)g[4] && lx == (size_t)g[5];
  for (int k = 0; k < 6; ++k) ok = ok && g[k] >= 0;
  for (size_t i = 0; ok && i < ly; ++i) ok = ymap[i] >= 0 && ymap[i] < g[1];
  for (size_t i = 0; ok && i < lx; ++i) ok = xmap[i] >= 0 && xmap[i] < g[2];
  if (!ok || (size_t)(grad ? out : in) > l0 || (size_t)(grad ? in : out) > l1) {
    fail(info.Env(), "phasewatch_native.resizeNearest: bad shapes");
    return info.Env().Undefined();
  }
  if (grad) pw::resize_nearest_grad(a, b, g, ymap, xmap);
  else pw::resize_nearest(a, b, g, ymap, xmap);
  return info.Env().Undefined();
}
Napi::Value ResizeNearest(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  return ResizeImpl(info, false);
}
Napi::Value ResizeNearestGrad(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  return ResizeImpl(info, true);
}

// groupNorm(x, gamma, beta, y, mean, rstd, [b, hw, c, g], eps)
Napi::Value GroupNorm(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  size_t lx, lg, lb, ly, lm, lr;
  int p[4];
  float* x = f32(info, 0, &lx);
  float* gamma = x ? f32(info, 1, &lg) : nullptr;
  float* beta = gamma ? f32(info, 2, &lb) : nullptr;
  float* y = beta ? f32(info, 3, &ly) : nullptr;
  float* mean = y ? f32(info, 4, &lm) : nullptr;
  float* rstd = mean ? f32(info, 5, &lr) : nullptr;
  if (!rstd || !ints(info, 6, p, 4)) return info.Env().Undefined();
  int64_t n = (int64_t)p[0] * p[1] * p[2];
  bool ok = p[0] >= 0 && p[1] >= 0 && p[2] > 0 && p[3] > 0 && p[2] % p[3] == 0 &&
            (size_t)n <= lx && (size_t)n <= ly && (size_t)p[2] <= lg && (size_t)p[2] <= lb &&
            (size_t)p[0] * p[3] <= lm && (size_t)p[0] * p[3] <= lr;
  if (!ok) {
    fail(info.Env(), "phasewatch_native.groupNorm: bad shapes");
    return info.Env().Undefined();
  }
  pw::group_norm(x, gamma, beta, y, mean, rstd, p[0], p[1], p[2], p[3], (float)arg_num(info, 7));
  return info.Env().Undefined();
}

// groupNormGrad(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, [b, hw, c, g])
Napi::Value GroupNormGrad(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  size_t l[8];
  float* a[8];
  for (int i = 0; i < 8; ++i) {
    a[i] = f32(info, i, &l[i]);
    if (!a[i]) return info.Env().Undefined();
  }
  int p[4];
  if (!ints(info, 8, p, 4)) return info.Env().Undefined();
  size_t n = (size_t)p[0] * p[1] * p[2], bg = (size_t)p[0] * p[3];
  bool ok = p[0] >= 0 && p[1] >= 0 && p[2] > 0 && p[3] > 0 && p[2] % p[3] == 0 && n <= l[0] &&
            n <= l[1] && (size_t)p[2] <= l[2] && bg <= l[3] && bg <= l[4] && n <= l[5] &&
            (size_t)p[2] <= l[6] && (size_t)p[2] <= l[7];
  if (!ok) {
    fail(info.Env(), "phasewatch_native.groupNormGrad: bad shapes");
    return info.Env().Undefined();
  }
  pw::group_norm_grad(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], p[0], p[1], p[2], p[3]);
  return info.Env().Undefined();
}

// gelu(x, y) / geluGrad(dy, x, dx)
Napi::Value Gelu(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  size_t lx, ly;
  float* x = f32(info, 0, &lx);
  float* y = x ? f32(info, 1, &ly) : nullptr;
  if (!y) return info.Env().Undefined();
  if (ly < lx) {
    fail(info.Env(), "phasewatch_native.gelu: output too short");
    return info.Env().Undefined();
  }
  pw::gelu(x, y, (int64_t)lx);
  return info.Env().Undefined();
}

Napi::Value GeluGrad(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  size_t ld, lx, lo;
  float* dy = f32(info, 0, &ld);
  float* x = dy ? f32(info, 1, &lx) : nullptr;
  float* dx = x ? f32(info, 2, &lo) : nullptr;
  if (!dx) return info.Env().Undefined();
  if (ld < lx || lo < lx) {
    fail(info.Env(), "phasewatch_native.geluGrad: arrays differ in length");
    return info.Env().Undefined();
  }
  pw::gelu_grad(dy, x, dx, (int64_t)lx);
  return info.Env().Undefined();
}

// adamEma(params, grads, m, v, ema: Float32Array[] (one entry per tensor), coef: Float32Array)
// Updates params, m, v and ema in place; see pw::adam_ema for coef.
Napi::Value AdamEma(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  Napi::Env env = info.Env();
  for (size_t k = 0; k < 5; ++k) {
    if (info.Length() <= k || !info[k].IsArray()) {
      fail(env, "phasewatch_native.adamEma: expected five arrays of Float32Arrays");
      return env.Undefined();
    }
  }
  size_t lc;
  float* c = f32(info, 5, &lc);
  if (!c) return env.Undefined();
  const uint32_t count = info[0].As<Napi::Array>().Length();
  if (lc < 10) {
    fail(env, "phasewatch_native.adamEma: expected 10 coefficients");
    return env.Undefined();
  }
  std::vector<float*> ptr[5];
  std::vector<int64_t> n(count);
  for (size_t k = 0; k < 5; ++k) {
    Napi::Array list = info[k].As<Napi::Array>();
    if (list.Length() != count) {
      fail(env, "phasewatch_native.adamEma: the arrays differ in length");
      return env.Undefined();
    }
    ptr[k].resize(count);
    for (uint32_t i = 0; i < count; ++i) {
      Napi::Value item = list.Get(i);
      if (!item.IsTypedArray() ||
          item.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
        fail(env, "phasewatch_native.adamEma: expected Float32Arrays");
        return env.Undefined();
      }
      Napi::Float32Array a = item.As<Napi::Float32Array>();
      const int64_t len = (int64_t)a.ElementLength();
      if (k == 0) n[i] = len;
      else if (len != n[i]) {
        fail(env, "phasewatch_native.adamEma: a tensor's arrays differ in length");
        return env.Undefined();
      }
      ptr[k][i] = a.Data();
    }
  }
  pw::adam_ema((int)count, n.data(), ptr[0].data(), ptr[1].data(), ptr[2].data(), ptr[3].data(),
               ptr[4].data(), c);
  return env.Undefined();
}

Napi::Value Threads(const Napi::CallbackInfo& info) {
  PW_SERIALIZE;
  if (info.Length() > 0 && info[0].IsNumber()) {
    return Napi::Number::New(info.Env(), pw::set_pool_threads(info[0].As<Napi::Number>().Int32Value()));
  }
  return Napi::Number::New(info.Env(), pw::pool_threads());
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
                              "; rebuild it here (npm rebuild or npm install)")
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
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2dBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2dBackpropFilter));
  exports.Set("batchMatMul", Napi::Function::New(env, BatchMatMul));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("slice", Napi::Function::New(env, Slice));
  exports.Set("concat", Napi::Function::New(env, Concat));
  exports.Set("avgPool", Napi::Function::New(env, AvgPool));
  exports.Set("avgPoolGrad", Napi::Function::New(env, AvgPoolGrad));
  exports.Set("resizeNearest", Napi::Function::New(env, ResizeNearest));
  exports.Set("resizeNearestGrad", Napi::Function::New(env, ResizeNearestGrad));
  exports.Set("groupNorm", Napi::Function::New(env, GroupNorm));
  exports.Set("groupNormGrad", Napi::Function::New(env, GroupNormGrad));
  exports.Set("gelu", Napi::Function::New(env, Gelu));
  exports.Set("geluGrad", Napi::Function::New(env, GeluGrad));
  exports.Set("adamEma", Napi::Function::New(env, AdamEma));
  exports.Set("threads", Napi::Function::New(env, Threads));
  return exports;
}

}  // namespace

NODE_API_MODULE(phasewatch_native, Init)
