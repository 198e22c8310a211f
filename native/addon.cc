// N-API entry points. Every function takes Float32Arrays owned by JS (tfjs tensor storage) and
// writes into a preallocated output array, so nothing is copied across the boundary.
#include <napi.h>

#include "gemm.h"
#include "ops.h"
#include "pool.h"

namespace {

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
  return a.Data();
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

Napi::Value Threads(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsNumber()) {
    return Napi::Number::New(info.Env(), pw::set_pool_threads(info[0].As<Napi::Number>().Int32Value()));
  }
  return Napi::Number::New(info.Env(), pw::pool_threads());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2dBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2dBackpropFilter));
  exports.Set("batchMatMul", Napi::Function::New(env, BatchMatMul));
  exports.Set("threads", Napi::Function::New(env, Threads));
  return exports;
}

}  // namespace

NODE_API_MODULE(phasewatch_native, Init)
