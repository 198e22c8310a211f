#include "block.h"

#include <algorithm>
#include <vector>

#include "ops.h"

namespace pw {
namespace {

// Scratch arrays that outlive a call (the addon runs one kernel at a time), grown as needed,
// so a block's intermediate activations are not reallocated every step.
float* scratch(int slot, int64_t n) {
  static std::vector<float> bufs[5];
  if ((int64_t)bufs[slot].size() < n) bufs[slot].resize((size_t)n);
  return bufs[slot].data();
}

int64_t pixels(const ConvGeom& g) { return (int64_t)g.ho * g.wo; }

// The first GroupNorm+GELU's output (conv2's input) into a1, its statistics into mean, rstd.
void first_activation(const ConvBlockShape& s, const ConvBlockWeights& w, const float* h1,
                      float* a1, float* mean, float* rstd) {
  group_norm(h1, w.gamma1, w.beta1, a1, mean, rstd, s.conv1.n, pixels(s.conv1), s.conv1.co,
             s.groups1, s.eps, true);
}

// The residual block's pre-activation z = x + GroupNorm(h2), as the Add of x and the
// GroupNorm's output computes it.
void residual_preactivation(const ConvBlockShape& s, const float* x, const ConvBlockWeights& w,
                            const float* h2, float* z, float* mean, float* rstd) {
  const int64_t len = (int64_t)s.conv2.n * pixels(s.conv2) * s.conv2.co;
  group_norm(h2, w.gamma2, w.beta2, z, mean, rstd, s.conv2.n, pixels(s.conv2), s.conv2.co,
             s.groups2, s.eps, false);
  for (int64_t i = 0; i < len; ++i) z[i] = x[i] + z[i];
}

}  // namespace

void conv_block_forward(const ConvBlockShape& s, const float* x, const ConvBlockWeights& w,
                        float* y, const ConvBlockSaved& saved) {
  const ConvGeom &c1 = s.conv1, &c2 = s.conv2;
  const int64_t hw2 = pixels(c2), len = (int64_t)c2.n * hw2 * c2.co;
  conv2d_forward(c1, x, w.w1, saved.h1);
  float* a1 = scratch(0, (int64_t)c1.n * pixels(c1) * c1.co);
  first_activation(s, w, saved.h1, a1, saved.mean1, saved.rstd1);
  conv2d_forward(c2, a1, w.w2, saved.h2);
  if (s.residual) {
    float* z = scratch(1, len);
    residual_preactivation(s, x, w, saved.h2, z, saved.mean2, saved.rstd2);
    gelu(z, y, len);
    return;
  }
  group_norm(saved.h2, w.gamma2, w.beta2, y, saved.mean2, saved.rstd2, c2.n, hw2, c2.co,
             s.groups2, s.eps, true);
  if (w.bias) {
    for (int i = 0; i < c2.n; ++i) {
      const float* bi = w.bias + (int64_t)i * c2.co;
      float* yi = y + (int64_t)i * hw2 * c2.co;
      for (int64_t p = 0; p < hw2; ++p)
        for (int k = 0; k < c2.co; ++k) yi[p * c2.co + k] = yi[p * c2.co + k] + bi[k];
    }
  }
}

void conv_block_backward(const ConvBlockShape& s, const float* dy, const float* x,
                         const ConvBlockWeights& w, const ConvBlockSaved& saved,
                         const ConvBlockGrads& g) {
  const ConvGeom &c1 = s.conv1, &c2 = s.conv2;
  const int n = c1.n;
  const int64_t len1 = (int64_t)n * pixels(c1) * c1.co;
  const int64_t len2 = (int64_t)n * pixels(c2) * c2.co;
  float* stats = scratch(4, 2 * (int64_t)n * std::max(s.groups1, s.groups2));
  float* a1 = scratch(0, len1);
  first_activation(s, w, saved.h1, a1, stats, stats + (int64_t)n * s.groups1);
  float* dh2 = scratch(1, len2);
  float* dz = nullptr;
  if (s.residual) {
    float* z = scratch(2, len2);
    residual_preactivation(s, x, w, saved.h2, z, stats, stats + (int64_t)n * s.groups2);
    dz = scratch(3, len2);
    gelu_grad(dy, z, dz, len2);
    group_norm_grad(dz, saved.h2, w.gamma2, w.beta2, saved.mean2, saved.rstd2, dh2, g.dgamma2,
                    g.dbeta2, n, pixels(c2), c2.co, s.groups2, false);
  } else {
    group_norm_grad(dy, saved.h2, w.gamma2, w.beta2, saved.mean2, saved.rstd2, dh2, g.dgamma2,
                    g.dbeta2, n, pixels(c2), c2.co, s.groups2, true);
    if (g.dbias) {
      // The bias's gradient as the Add's gradient takes it: dy summed over height and width.
      const int shape[4] = {n, c2.ho, c2.wo, c2.co}, mask[4] = {0, 1, 1, 0};
      reduce(kSum, dy, shape, mask, 4, g.dbias);
    }
  }
  conv2d_backprop_filter(c2, a1, dh2, g.dw2);
  float* da1 = scratch(2, len1);
  conv2d_backprop_input(c2, dh2, w.w2, da1);
  float* dh1 = a1;  // a1 is no longer needed
  group_norm_grad(da1, saved.h1, w.gamma1, w.beta1, saved.mean1, saved.rstd1, dh1, g.dgamma1,
                  g.dbeta1, n, pixels(c1), c1.co, s.groups1, true);
  conv2d_backprop_filter(c1, x, dh1, g.dw1);
  if (!g.dx) return;
  conv2d_backprop_input(c1, dh1, w.w1, g.dx);
  if (dz) {
    // x's two gradients (the residual path's and conv1's), added as tfjs accumulates them.
    for (int64_t i = 0; i < len2; ++i) g.dx[i] = dz[i] + g.dx[i];
  }
}

}  // namespace pw
