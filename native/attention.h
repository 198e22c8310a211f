// Softmax over rows, and fused multi-head attention that never holds a full score matrix.
#pragma once
#include <cstdint>

namespace pw {

// y[r, :] = exp(x[r, :] - max) / Σ exp(x[r, :] - max) for each of `rows` rows of `cols`.
void softmax_rows(const float* x, float* y, int64_t rows, int cols);

// Attention of q, k, v packed as qkv [b, n, 3·heads·d] (q on channels 0 … heads·d-1, then k,
// then v; head h of each holds its channels h·d … h·d+d-1):
// o[., i, h] = softmax_j(q_i·k_j / √d) v_j, written as [b, n, heads·d], and the log of each
// row's normaliser, lse [b, heads, n] (the row max included), which the gradient reuses.
// Scores are formed 48 queries × 128 keys at a time (small GEMMs through a register tile sized
// to the target) with an online softmax; returns false (writing nothing) for d over 1,024.
bool attention_forward(const float* qkv, float* o, float* lse, int b, int n, int heads, int d);

// Its gradient from do_ (and the forward's o and lse): dqkv in qkv's layout. Scores and
// probabilities are recomputed per block; every sum runs in a fixed order, one (image, head)
// per task, so results do not depend on the thread count.
bool attention_backward(const float* qkv, const float* o, const float* lse, const float* do_,
                        float* dqkv, int b, int n, int heads, int d);

}  // namespace pw
