#pragma once
// One thread pool for everything: OpenMP's, shared with OpenBLAS (its OpenMP build), so the
// two never oversubscribe. `--threads N` on every command ends up in set_num_threads.
#include <algorithm>
#include <cstdint>

namespace tessera {

// Sets the pool size for OpenMP and OpenBLAS; 0 means all available cores.
void set_num_threads(int threads);
int num_threads();

// Calls fn(lo, hi) on disjoint chunks covering [begin, end), in parallel when the range holds
// more than `grain` items. Chunks are contiguous and at least `grain` long.
template <typename Fn>
void parallel_for(int64_t begin, int64_t end, int64_t grain, Fn&& fn) {
  int64_t n = end - begin;
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, num_threads());
  if (chunks <= 1) {
    fn(begin, end);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(chunks))
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t lo = begin + n * c / chunks;
    int64_t hi = begin + n * (c + 1) / chunks;
    fn(lo, hi);
  }
}

}  // namespace tessera
