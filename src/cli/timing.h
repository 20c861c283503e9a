#pragma once
// Timing helpers shared by the `tessera bench ...` commands: every figure they print is a
// median over repeats, taken after an untimed warm-up.
#include <algorithm>
#include <chrono>
#include <vector>

namespace tessera::cli {

inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace tessera::cli
