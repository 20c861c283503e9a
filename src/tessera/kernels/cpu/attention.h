#pragma once
// Scaled dot-product attention with grouped-query heads and a causal mask, computed one
// (batch, head) block at a time: the [T, S] score block lives in a per-thread scratch and is
// recomputed in the backward from the saved log-sum-exp (as FlashAttention does), so training
// never holds more than one score block per thread, let alone [heads x T x T] per layer.
//
// Layouts (contiguous): q [B, T, H, D], k and v [B, S, Hkv, D], out [B, T, H, D], lse [B, H, T].
// Query head h reads key/value head h / (H / Hkv). With `causal`, query i (at absolute position
// S - T + i) sees keys j <= S - T + i: training has S == T; decoding appends T new queries to a
// cache of S keys.
#include <cstdint>

namespace tessera::kernels {

struct AttentionShape {
  int64_t B, T, S, H, Hkv, D;
};

// out = softmax(scale * q k^T + mask) v  (Vaswani et al. 2017, eq. 1).
template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* lse, AttentionShape shape,
                       T scale, bool causal);

// dq overwritten; dk and dv overwritten (they sum over the query heads of each group).
template <typename T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* lse,
                        const T* dout, T* dq, T* dk, T* dv, AttentionShape shape, T scale,
                        bool causal);

namespace reference {
// Direct loops, for tests.
template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* lse, AttentionShape shape,
                       T scale, bool causal);
}  // namespace reference

}  // namespace tessera::kernels
