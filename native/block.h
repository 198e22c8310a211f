// The UNet's double-convolution block as one call forward and one backward, composed of the
// same routines (and in the same order) as the block's separate kernels, so its results are
// bit for bit those of the unfused ops.
#pragma once
#include <cstdint>

#include "gemm.h"

namespace pw {

// conv1 [n,h,w,cin]→[n,ho,wo,cmid], GroupNorm(groups1)+GELU, conv2 →[n,ho2,wo2,cout], then
//  - block:    y = GELU(GroupNorm(groups2)(h2)) (+ bias[n, cout] per image and channel), or
//  - residual: y = GELU(x + GroupNorm(groups2)(h2)) (x must have y's shape; no bias).
struct ConvBlockShape {
  ConvGeom conv1, conv2;
  int groups1, groups2;
  float eps;
  bool residual;
};

// The weights; bias may be null.
struct ConvBlockWeights {
  const float *w1, *gamma1, *beta1, *w2, *gamma2, *beta2, *bias;
};

// What the forward pass keeps for the backward one: the two convolutions' outputs and the
// GroupNorms' [n, groups] statistics.
struct ConvBlockSaved {
  float *h1, *h2, *mean1, *rstd1, *mean2, *rstd2;
};

// The gradients; dbias is null for a block without a bias, dx null where x needs none.
struct ConvBlockGrads {
  float *dx, *dw1, *dgamma1, *dbeta1, *dw2, *dgamma2, *dbeta2, *dbias;
};

void conv_block_forward(const ConvBlockShape& s, const float* x, const ConvBlockWeights& w,
                        float* y, const ConvBlockSaved& saved);

// The normalised activations are recomputed from the saved convolution outputs (w.bias is
// not read: the bias's gradient is dy's sum).
void conv_block_backward(const ConvBlockShape& s, const float* dy, const float* x,
                         const ConvBlockWeights& w, const ConvBlockSaved& saved,
                         const ConvBlockGrads& grads);

}  // namespace pw
