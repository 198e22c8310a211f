// Memory-bound kernels (elementwise, reductions, copies, pooling, resampling), threaded over
// the pool when large enough to pay for the hand-off.
#pragma once
#include <cstdint>

#include "ops_generated.h"

namespace pw {

// BinaryOp, UnaryOp and ReduceOp (codes and names) come from one table shared with TypeScript.

// out = a (op) b with numpy broadcasting; shapes are right-aligned to the output's rank.
void binary(int op, const float* a, const int* ashape, int arank, const float* b,
            const int* bshape, int brank, float* out, const int* oshape, int orank);
void unary(int op, const float* x, float* out, int64_t n, float p0, float p1);
// Reduces x (shape, rank) over the axes with mask[d] != 0 into out (the kept axes in order).
void reduce(int op, const float* x, const int* shape, const int* mask, int rank, float* out);
// out = x[begin : begin + size] (per axis).
void slice(const float* x, const int* shape, const int* begin, const int* size, int rank,
           float* out);
// Row o of out is the concatenation of row o of every input (widths[i] floats each).
void concat_rows(const float* const* xs, const int64_t* widths, int count, int64_t outer,
                 float* out);
// Average pooling (NHWC); g = n,h,w,c,ho,wo,fh,fw,sh,sw,pad_t,pad_l. The forward pass divides
// by the in-bounds count, the gradient by fh*fw (as tfjs's cpu backend does).
void avg_pool(const float* x, float* y, const int* g);
void avg_pool_grad(const float* dy, float* dx, const int* g);
// Nearest-neighbour resize with precomputed source rows/columns; g = n,h,w,c,ho,wo.
void resize_nearest(const float* x, float* y, const int* g, const int* ymap, const int* xmap);
void resize_nearest_grad(const float* dy, float* dx, const int* g, const int* ymap,
                         const int* xmap);
// Max pooling (NHWC), g as for avg_pool; cells outside the image are skipped (an all-outside
// window gives -inf, as tfjs's cpu kernel does).
void max_pool(const float* x, float* y, const int* g);
// Its gradient: each window's dy goes to the window's first maximal input in row-major order
// (tfjs's cpu kernel and PyTorch break ties the same way).
void max_pool_grad(const float* dy, const float* x, float* dx, const int* g);
// Bilinear resize; g = n,h,w,c,ho,wo. Output row r reads source rows ylo[r], yhi[r] with weight
// yfrac[r] on yhi (and likewise columns): top + (bottom - top)·yfrac, where top and bottom
// interpolate along x first (tfjs's cpu order).
void resize_bilinear(const float* x, float* y, const int* g, const int* ylo, const int* yhi,
                     const float* yfrac, const int* xlo, const int* xhi, const float* xfrac);
// Its gradient (the adjoint): every dy element is spread over its four source pixels.
void resize_bilinear_grad(const float* dy, float* dx, const int* g, const int* ylo,
                          const int* yhi, const float* yfrac, const int* xlo, const int* xhi,
                          const float* xfrac);

}  // namespace pw

namespace pw {

// GroupNorm over NHWC x viewed as [b, hw, g, c/g]: per (image, group) statistics over hw·c/g
// values (one pass over shifted values, double accumulation),
// y = (x - mean)·rstd·gamma[c] + beta[c]; writes mean and rstd = 1/sqrt(var + eps) as [b, g]. With gelu_after, y = GELU(that).
void group_norm(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                float* rstd, int b, int64_t hw, int c, int g, float eps, bool gelu_after);
// Its gradient: dx [b,hw,c], dgamma and dbeta [c] (beta is read only with gelu_after).
void group_norm_grad(const float* dy, const float* x, const float* gamma, const float* beta,
                     const float* mean, const float* rstd, float* dx, float* dgamma,
                     float* dbeta, int b, int64_t hw, int c, int g, bool gelu_after);
// Exact GELU x·Φ(x) (Φ through the same erf as the Erf kernel) and its gradient.
void gelu(const float* x, float* y, int64_t n);
void gelu_grad(const float* dy, const float* x, float* dx, int64_t n);

// One step of tfjs's Adam followed by the weights' EMA, in place, over `count` tensors of n[i]
// elements (weights p, gradients g, moments m and v, EMA e). Every intermediate is rounded to
// float32 as tfjs's kernels round it (no fused multiply-adds), in tfjs's order:
//   m = m·b1 + g·(1−b1);  v = v·b2 + g²·(1−b2);
//   p = (m/(1−b1ᵗ)) / (sqrt(v/(1−b2ᵗ)) + eps) · (−lr) + p;  e = e·d + p·(1−d)
// with c = {b1, 1−b1, b2, 1−b2, 1−b1ᵗ, 1−b2ᵗ, eps, −lr, d, 1−d}.
void adam_ema(int count, const int64_t* n, float* const* p, const float* const* g,
              float* const* m, float* const* v, float* const* e, const float* c);

}  // namespace pw
