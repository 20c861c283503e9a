#include "tessera/nn/int8_linear.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tessera/core/autograd.h"
#include "tessera/kernels/cpu/gemm.h"
#include "tessera/kernels/cpu/int8_gemm.h"

namespace tessera::nn {

Int8Matrix quantize_rows_int8(const Tensor& weight) {
  TESSERA_CHECK(weight.dim() == 2, "quantize_rows_int8: weight must be 2-d, got {}",
                shape_str(weight.shape()));
  const int64_t N = weight.size(0), K = weight.size(1);
  Tensor w = weight.to(DType::f32).contiguous();
  const float* pw = w.data<float>();
  std::vector<int8_t> q(static_cast<size_t>(N * K));
  Int8Matrix m;
  m.rows = N;
  m.cols = K;
  m.scale = Tensor::empty({N}, DType::f32);
  m.row_sums = Tensor::empty({N}, DType::i32);
  float* s = m.scale.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    float absmax = 0;
    for (int64_t k = 0; k < K; ++k) absmax = std::max(absmax, std::fabs(pw[n * K + k]));
    s[n] = absmax / 127.0f;
    const float inv = absmax > 0 ? 127.0f / absmax : 0.0f;
    for (int64_t k = 0; k < K; ++k)
      q[n * K + k] = static_cast<int8_t>(std::nearbyint(pw[n * K + k] * inv));
  }
  kernels::int8_row_sums(q.data(), N, K, m.row_sums.data<int32_t>());
  m.q = Tensor::empty({kernels::int8_packed_rows(N), kernels::int8_packed_cols(K)}, DType::i8);
  kernels::int8_pack_rows(q.data(), N, K, m.q.data<int8_t>());
  return m;
}

int8_t Int8Matrix::at(int64_t n, int64_t k) const {
  return kernels::int8_packed_at(q.data<int8_t>(), cols, n, k);
}

Tensor int8_linear(const Tensor& x_in, const Int8Matrix& w, const Tensor& bias) {
  NoGrad no_grad;
  const int64_t N = w.rows, K = w.cols;
  TESSERA_CHECK(x_in.size(-1) == K, "int8_linear: input width {} but weight [{}, {}]",
                x_in.size(-1), N, K);
  Tensor x = x_in.to(DType::f32).contiguous();
  const int64_t M = x.numel() / K;
  Shape out_shape = x.shape();
  out_shape.back() = N;
  Tensor out = Tensor::empty(out_shape, DType::f32);
  const float* px = x.data<float>();
  const int8_t* q = w.q.data<int8_t>();
  const float* s = w.scale.data<float>();
  float* po = out.data<float>();
  const float* pb = nullptr;
  Tensor b;
  if (bias.defined()) {
    b = bias.to(DType::f32).contiguous();
    pb = b.data<float>();
  }
  if (kernels::int8_gemm_accelerated()) {
    // int8 activations (per-row absmax) times int8 weights, in exact int32.
    std::vector<int8_t> xq(static_cast<size_t>(M * K));
    std::vector<float> x_scale(static_cast<size_t>(M));
    kernels::int8_quantize_rows(px, M, K, xq.data(), x_scale.data());
    kernels::int8_gemm_f32(xq.data(), K, x_scale.data(), M, q, w.row_sums.data<int32_t>(), s, pb,
                           N, K, po, N);
    return out;
  }
  // Dequantize blocks of weight rows (about 256 KB of f32) and let BLAS multiply.
  const int64_t block =
      std::max<int64_t>(16, std::min<int64_t>(N, (64 * 1024) / std::max<int64_t>(K, 1)));
  const int64_t blocks = (N + block - 1) / block;
#pragma omp parallel
  {
    std::vector<float> buffer(static_cast<size_t>(block * K));
#pragma omp for schedule(dynamic)
    for (int64_t bi = 0; bi < blocks; ++bi) {
      const int64_t n0 = bi * block, nb = std::min(block, N - n0);
      for (int64_t n = 0; n < nb; ++n)
        kernels::int8_dequantize_packed_row(q, K, n0 + n, s[n0 + n], buffer.data() + n * K);
      kernels::gemm<float>(false, true, M, nb, K, 1.0f, px, K, buffer.data(), K, 0.0f, po + n0,
                           N);
    }
  }
  if (pb)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) po[m * N + n] += pb[n];
  return out;
}

Tensor int8_rows(const Int8Matrix& w, const Tensor& ids) {
  const int64_t N = w.rows, K = w.cols;
  std::vector<int64_t> idx = ids.to_vector<int64_t>();
  Shape shape = ids.shape();
  shape.push_back(K);
  Tensor out = Tensor::empty(shape, DType::f32);
  float* po = out.data<float>();
  const float* s = w.scale.data<float>();
  for (size_t i = 0; i < idx.size(); ++i) {
    TESSERA_CHECK_INPUT(idx[i] >= 0 && idx[i] < N, "token id {} outside the vocabulary of {}",
                        idx[i], N);
    kernels::int8_dequantize_packed_row(w.q.data<int8_t>(), K, idx[i], s[idx[i]],
                                        po + static_cast<int64_t>(i) * K);
  }
  return out;
}

QuantizableLinear QuantizableLinear::create(int64_t in, int64_t out, bool with_bias, double std,
                                            Generator& gen) {
  Linear l = Linear::create(in, out, with_bias, std, gen);
  QuantizableLinear q;
  q.weight = l.weight;
  q.bias = l.bias;
  return q;
}

void QuantizableLinear::quantize() {
  if (int8.defined() || !weight.defined()) return;
  int8 = quantize_rows_int8(weight);
  weight = Tensor();
}

void QuantizableLinear::parameters(const std::string& prefix, ParameterRefs& out) {
  if (weight.defined()) out.emplace_back(prefix + "weight", &weight);
  if (bias.defined()) out.emplace_back(prefix + "bias", &bias);
}

}  // namespace tessera::nn
