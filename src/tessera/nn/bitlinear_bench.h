#pragma once
// `tessera bench ternary`: the multiplication-free ternary products against OpenBLAS's f32
// sgemv/sgemm on the same weight shapes, timed side by side in one run (median of repeats).
// Ours includes the per-token activation quantization and the final rescale, i.e. everything a
// packed BitLinear does after its RMSNorm; the baseline is the bare BLAS call.
#include <cstdint>
#include <string>
#include <vector>

namespace tessera::nn {

struct TernaryBenchRow {
  std::string kernel;  // "ternary2" or "ternary3"
  int64_t rows = 0, cols = 0, batch = 0;
  double seconds = 0, baseline_seconds = 0;  // medians
  std::string baseline_name;                 // "sgemv" or "sgemm"
  double weight_bytes = 0, baseline_weight_bytes = 0;
  double speedup() const { return seconds > 0 ? baseline_seconds / seconds : 0; }
};

struct TernaryBenchShape {
  int64_t rows, cols;  // weight [out, in]
};

// Shapes default to the 2048x2048, 5632x2048 and 2048x5632; batches to 1 and 8.
std::vector<TernaryBenchRow> bench_ternary(int repeats,
                                           const std::vector<TernaryBenchShape>& shapes,
                                           const std::vector<int64_t>& batches);

}  // namespace tessera::nn
