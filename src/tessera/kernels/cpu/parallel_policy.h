#pragma once
// When the kernels go parallel. Work below these sizes stays on the calling thread: waking the
// OpenMP team costs a few microseconds, about what one core needs for 32k simple elements.
// Chunk boundaries depend on sizes only, never on the thread count, so results are the same
// for any --threads.
#include <cstdint>

namespace tessera::kernels {

inline constexpr int64_t kParallelMinElements = int64_t{1} << 15;  // below: single-threaded
inline constexpr int64_t kElementwiseChunk = int64_t{1} << 14;     // elements per task
inline constexpr int64_t kReduceChunk = int64_t{1} << 16;          // long rows split this finely
inline constexpr int64_t kMaxPartialChunks = 64;                   // row groups for dw/db sums

// static: each instruction-set translation unit gets its own copy (see simd.h).
static constexpr int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

}  // namespace tessera::kernels
