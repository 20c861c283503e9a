#pragma once
// Tensor ops: free functions, differentiable where it makes sense, on f32 and f64 tensors
// (f64 exists so gradient checks mean something). Each op checks shapes and names what is
// wrong; each calls a kernel from kernels/cpu and records its backward in grad mode.
#include <utility>
#include <vector>

#include "tessera/core/tensor.h"

namespace tessera {

// ---- elementwise, broadcasting like NumPy ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
inline Tensor sub(const Tensor& a, double b) { return add(a, -b); }
inline Tensor div(const Tensor& a, double b) { return mul(a, 1.0 / b); }
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, double b) { return add(a, -b); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
inline Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
inline Tensor operator/(const Tensor& a, double b) { return mul(a, 1.0 / b); }

// In place, not recorded (optimizers, gradient accumulation): a += b (b broadcast to a).
void add_(Tensor& a, const Tensor& b);
void mul_(Tensor& a, double s);

Tensor neg(const Tensor& x);
inline Tensor operator-(const Tensor& x) { return neg(x); }
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor silu(const Tensor& x);
enum class GeluApproximation { none, tanh };
Tensor gelu(const Tensor& x, GeluApproximation approximation = GeluApproximation::none);
Tensor relu(const Tensor& x);
Tensor softplus(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor square(const Tensor& x);
Tensor pow(const Tensor& x, double p);
Tensor clamp(const Tensor& x, double low, double high);

// ---- reductions along one axis (keepdim keeps it with size 1) ----
Tensor sum(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor sum(const Tensor& x);  // all elements, shape []
Tensor mean(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);  // values; gradient to the argmax
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);  // i64, not differentiable
Tensor logsumexp(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor var(const Tensor& x, int64_t dim, bool unbiased = true, bool keepdim = false);
// Sums `x` down to `shape` over broadcast axes (the backward of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);

Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);
Tensor cumsum(const Tensor& x, int64_t dim);

// ---- linear algebra (OpenBLAS) ----
// a [.., M, K] @ b [.., K, N] with broadcast batch axes; 1-d operands as in NumPy.
Tensor matmul(const Tensor& a, const Tensor& b);
// x [.., in] @ weight[out, in]^T + bias[out] (bias may be undefined): PyTorch's nn.Linear.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- layers ----
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps);  // over the last axis
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);
// weight [vocab, dim], ids integer tensor of any shape -> [..ids, dim]. Out-of-range ids throw.
Tensor embedding(const Tensor& weight, const Tensor& ids);
// logits [N, V], targets integer [N]; mean over non-ignored rows. Scalar result.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100,
                     double label_smoothing = 0.0);
// x [B, T, H, D]; cos/sin tables [max_pos, D/2] (not differentiated); positions i64 [T] or [B, T].
Tensor rope(const Tensor& x, const Tensor& cos, const Tensor& sin, const Tensor& positions,
            bool interleaved = false);
// Tables for rope: cos/sin of position * inv_freq, inv_freq [D/2] given by the caller
// (so rope_scaling variants such as llama3 only change inv_freq).
std::pair<Tensor, Tensor> rope_tables(const Tensor& inv_freq, int64_t max_positions,
                                      DType dtype = DType::f32);
// Causal (or full) attention with grouped-query heads: q [B, T, H, D], k and v [B, S, Hkv, D]
// with H a multiple of Hkv -> [B, T, H, D]. scale <= 0 means 1/sqrt(D). With causal and S > T
// the queries are the last T positions (decoding against a cache). Memory: one [T, S] block
// per thread; the backward recomputes scores from the saved log-sum-exp.
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal = true,
                 double scale = 0.0);
// x [B, T, C], weight [C, K], bias [C] (may be undefined): depthwise causal conv (Mamba).
Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias);

// ---- indexing and shape ----
Tensor concat(const std::vector<Tensor>& parts, int64_t dim);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// Where mask (u8/integer, broadcast to x) is non-zero, value; elsewhere x.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
// cond (u8/integer) ? a : b, all broadcast together.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// The k largest along the last axis (sorted descending): values (differentiable), indices i64.
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k);

// Broadcast shape of a and b (NumPy rules); throws naming both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b);

}  // namespace tessera
