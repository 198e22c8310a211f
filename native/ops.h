// Memory-bound kernels (elementwise, reductions, copies, pooling, resampling), threaded over
// the pool when large enough to pay for the hand-off.
#pragma once
#include <cstdint>

namespace pw {

enum BinaryOp { kAdd = 0, kSub, kMul, kDiv, kSquaredDiff, kMax, kMin };
enum UnaryOp {
  kNeg = 0, kSquare, kSqrt, kRsqrt, kExp, kLog, kErf, kAbs, kRelu, kSigmoid, kTanh,
  kReciprocal, kClip
};
enum ReduceOp { kSum = 0, kMean, kRMax, kRMin };

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

}  // namespace pw
