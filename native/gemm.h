// Cache-blocked single-precision GEMM pieces and the convolution drivers built on them.
#pragma once
#include <cstdint>

namespace pw {

// Geometry of a 2-D convolution, NHWC input [n,h,w,ci], filter [kh,kw,ci,co], output
// [n,ho,wo,co]; pad_t / pad_l are the zero rows / columns before the input.
struct ConvGeom {
  int n, h, w, ci, ho, wo, co, kh, kw, sh, sw, pad_t, pad_l, dh, dw;
};

// y = conv(x, f).
void conv2d_forward(const ConvGeom& g, const float* x, const float* f, float* y);
// dx = d(loss)/dx given dy.
void conv2d_backprop_input(const ConvGeom& g, const float* dy, const float* f, float* dx);
// df = d(loss)/df given x and dy.
void conv2d_backprop_filter(const ConvGeom& g, const float* x, const float* dy, float* df);

// c[b] = op(a[b]) · op(b[b]) for each of `batch` products; op transposes when the flag is set.
// a is [M,K] (or [K,M] when trans_a), b is [K,N] (or [N,K] when trans_b), c is [M,N].
// a_stride / b_stride are the element strides between batches (0 broadcasts).
void batch_matmul(int batch, int m, int n, int k, const float* a, int64_t a_stride, bool trans_a,
                  const float* b, int64_t b_stride, bool trans_b, float* c);

}  // namespace pw
