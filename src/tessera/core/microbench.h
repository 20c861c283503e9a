#pragma once
// Side-by-side micro-benchmarks behind `tessera bench gemm` and `tessera bench ops`: each row
// times a Tensor op and its raw baseline (OpenBLAS, memcpy) in the same run, median of
// `repeats` runs each, and reports the ratio (ours / baseline throughput).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tessera {

struct BenchRow {
  std::string name;      // "matmul", "exp", ...
  std::string shape;     // "1024x1024x1024", "16777216"
  std::string unit;      // "GFLOP/s" or "GB/s"
  double value = 0;      // Tessera's throughput
  double baseline = 0;   // the baseline's throughput
  std::string baseline_name;
  double seconds = 0;    // Tessera's median time
  double ratio() const { return baseline > 0 ? value / baseline : 0; }
};

// Median of a list of timings (the mean of the middle two for an even count).
double median(std::vector<double> values);
// Median wall time in seconds of `repeats` calls of fn (after one warm-up call).
double median_seconds(int repeats, const std::function<void()>& fn);

std::vector<BenchRow> bench_gemm(int repeats);
std::vector<BenchRow> bench_ops(int repeats, int64_t megabytes);

}  // namespace tessera
