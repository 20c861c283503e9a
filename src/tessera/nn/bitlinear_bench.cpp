#include "tessera/nn/bitlinear_bench.h"

#include <cblas.h>

#include <random>

#include "tessera/core/microbench.h"
#include "tessera/kernels/cpu/ternary.h"

namespace tessera::nn {

namespace {

// One product as a packed BitLinear runs it: quantize the tokens, integer product, rescale.
struct TernaryProduct {
  int64_t rows, cols, batch;
  bool two_bit;
  std::vector<uint8_t> packed;
  std::vector<float> x, out, scales;
  std::vector<int8_t> q;
  std::vector<int32_t> acc;

  void run() {
    const int64_t ld = two_bit ? kernels::ternary2_padded_cols(cols) : cols;
    kernels::quantize_rows_absmax(x.data(), batch, cols, q.data(), ld, scales.data());
    if (two_bit) {
      kernels::ternary2_gemm(packed.data(), rows, cols, q.data(), batch, acc.data());
    } else {
      kernels::ternary3_gemm(packed.data(), rows, cols, q.data(), batch, acc.data());
    }
    for (int64_t n = 0; n < batch; ++n) {
      const float rescale = 0.02f / scales[n];
      for (int64_t r = 0; r < rows; ++r)
        out[n * rows + r] = static_cast<float>(acc[n * rows + r]) * rescale;
    }
  }
};

}  // namespace

std::vector<TernaryBenchRow> bench_ternary(int repeats,
                                           const std::vector<TernaryBenchShape>& shapes,
                                           const std::vector<int64_t>& batches) {
  std::vector<TernaryBenchRow> rows_out;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> trit(-1, 1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const TernaryBenchShape& shape : shapes) {
    const int64_t M = shape.rows, K = shape.cols;
    std::vector<int8_t> trits(static_cast<size_t>(M * K));
    std::vector<float> dense(static_cast<size_t>(M * K));
    for (size_t i = 0; i < trits.size(); ++i) {
      trits[i] = static_cast<int8_t>(trit(rng));
      dense[i] = 0.02f * trits[i];
    }
    for (int64_t batch : batches) {
      std::vector<float> x(static_cast<size_t>(batch * K)), y(static_cast<size_t>(batch * M));
      for (float& v : x) v = normal(rng);
      double baseline_seconds;
      if (batch == 1) {
        baseline_seconds = median_seconds(repeats, [&] {
          cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(M), static_cast<int>(K), 1.0f,
                      dense.data(), static_cast<int>(K), x.data(), 1, 0.0f, y.data(), 1);
        });
      } else {
        baseline_seconds = median_seconds(repeats, [&] {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(batch),
                      static_cast<int>(M), static_cast<int>(K), 1.0f, x.data(), static_cast<int>(K),
                      dense.data(), static_cast<int>(K), 0.0f, y.data(), static_cast<int>(M));
        });
      }
      for (bool two_bit : {true, false}) {
        TernaryProduct p{M,
                         K,
                         batch,
                         two_bit,
                         {},
                         x,
                         std::vector<float>(static_cast<size_t>(batch * M)),
                         std::vector<float>(static_cast<size_t>(batch)),
                         {},
                         {}};
        const int64_t row_bytes =
            two_bit ? kernels::ternary2_row_bytes(K) : kernels::ternary3_row_bytes(K);
        p.packed.resize(static_cast<size_t>(M * row_bytes));
        if (two_bit)
          kernels::pack_ternary2(trits.data(), M, K, p.packed.data());
        else
          kernels::pack_ternary3(trits.data(), M, K, p.packed.data());
        const int64_t ld = two_bit ? kernels::ternary2_padded_cols(K) : K;
        p.q.resize(static_cast<size_t>(batch * ld));
        p.acc.resize(static_cast<size_t>(batch * M));
        TernaryBenchRow row;
        row.kernel = two_bit ? "ternary2" : "ternary3";
        row.rows = M;
        row.cols = K;
        row.batch = batch;
        row.seconds = median_seconds(repeats, [&] { p.run(); });
        row.baseline_seconds = baseline_seconds;
        row.baseline_name = batch == 1 ? "sgemv" : "sgemm";
        row.weight_bytes = static_cast<double>(p.packed.size());
        row.baseline_weight_bytes = static_cast<double>(dense.size() * sizeof(float));
        rows_out.push_back(row);
      }
    }
  }
  return rows_out;
}

}  // namespace tessera::nn
