// exp(x) in float shared by the kernels that need it (Exp, Sigmoid, GELU, softmax, attention).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace pw {

// 2^n · e^r for x already in [-87.3, 88.3]: the part of exp_f that does not handle limits.
inline float exp_f_core(float xc) {
  const float n = std::floor(xc * 1.44269504088896341f + 0.5f);
  const float r = (xc - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

// exp(x) in float, branch-free so loops over it vectorise: 2^n · e^r with |r| <= ln2/2 and a
// degree-7 Taylor polynomial (relative error about 1 ulp). Below e^-87.3 (the normal range) it
// returns 0; above 88.72, +inf.
inline float exp_f(float x) {
  float v = exp_f_core(std::min(88.3f, std::max(-87.3f, x)));
  v = x > 88.72f ? INFINITY : v;
  v = x < -87.3f ? 0.0f : v;
  return x != x ? x : v;
}

// exp_f(x) for x <= 88.3 (softmax arguments, x - max <= 0), the same bits, with fewer
// selects: x < -87.3 (-inf included) gives 0 and NaN stays NaN.
inline float exp_f_upto88(float x) {
  const float v = exp_f_core(x < -87.3f ? -87.3f : x);
  return x < -87.3f ? 0.0f : v;
}

}  // namespace pw
