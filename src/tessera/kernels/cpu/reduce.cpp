// Reductions: run-time dispatch of the vectorised ones (reduce_impl.h), plus cumsum and top-k,
// which are compiled once for the baseline.
#include "tessera/kernels/cpu/reduce.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tessera/kernels/cpu/dispatch.h"
#include "tessera/kernels/cpu/isa_kernels.h"
#include "tessera/kernels/cpu/parallel_policy.h"

namespace tessera::kernels {

namespace {
bool use_avx512() {
  return active_isa() == Isa::avx512;
}
}  // namespace

template <typename T>
void reduce(ReduceOp op, const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  use_avx512() ? avx512::reduce(op, x, y, outer, n, inner)
               : avx2::reduce(op, x, y, outer, n, inner);
}

template <typename T>
void argmax(const T* x, int64_t* y, int64_t outer, int64_t n, int64_t inner) {
  use_avx512() ? avx512::argmax(x, y, outer, n, inner) : avx2::argmax(x, y, outer, n, inner);
}

template <typename T>
void variance(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool unbiased) {
  use_avx512() ? avx512::variance(x, y, outer, n, inner, unbiased)
               : avx2::variance(x, y, outer, n, inner, unbiased);
}

template <typename T>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  if (rows <= 0 || n <= 0) return;
  use_avx512() ? avx512::softmax_rows(x, y, rows, n) : avx2::softmax_rows(x, y, rows, n);
}

template <typename T>
void log_softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  if (rows <= 0 || n <= 0) return;
  use_avx512() ? avx512::log_softmax_rows(x, y, rows, n) : avx2::log_softmax_rows(x, y, rows, n);
}

template <typename T>
void softmax_backward_rows(const T* y, const T* dy, T* dx, int64_t rows, int64_t n) {
  if (rows <= 0 || n <= 0) return;
  use_avx512() ? avx512::softmax_backward_rows(y, dy, dx, rows, n)
               : avx2::softmax_backward_rows(y, dy, dx, rows, n);
}

template <typename T>
void log_softmax_backward_rows(const T* y, const T* dy, T* dx, int64_t rows, int64_t n) {
  if (rows <= 0 || n <= 0) return;
  use_avx512() ? avx512::log_softmax_backward_rows(y, dy, dx, rows, n)
               : avx2::log_softmax_backward_rows(y, dy, dx, rows, n);
}

// y_j = sum_{k <= j} x_k (or k >= j when reverse). Sequential along the axis by nature; rows
// (inner == 1) run in parallel, and for inner > 1 each step adds a whole contiguous slice.
template <typename T>
void cumsum(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  const int64_t first = reverse ? n - 1 : 0;
  const int64_t direction = reverse ? -1 : 1;
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer * n >= kParallelMinElements)
    for (int64_t o = 0; o < outer; ++o) {
      const T* in = x + o * n;
      T* out = y + o * n;
      T running = 0;
      for (int64_t step = 0, j = first; step < n; ++step, j += direction) {
        running += in[j];
        out[j] = running;
      }
    }
    return;
  }
  constexpr int64_t kBlock = 1024;  // columns per task
  const int64_t blocks = ceil_div(inner, kBlock);
#pragma omp parallel for schedule(static) if (outer * n * inner >= kParallelMinElements)
  for (int64_t task = 0; task < outer * blocks; ++task) {
    const int64_t o = task / blocks, i0 = (task % blocks) * kBlock;
    const int64_t width = std::min(kBlock, inner - i0);
    const T* base_in = x + o * n * inner + i0;
    T* base_out = y + o * n * inner + i0;
    const T* in = base_in + first * inner;
    T* out = base_out + first * inner;
    for (int64_t i = 0; i < width; ++i) out[i] = in[i];
    for (int64_t step = 1, j = first + direction; step < n; ++step, j += direction) {
      const T* row = base_in + j * inner;
      const T* previous = base_out + (j - direction) * inner;
      T* current = base_out + j * inner;
      for (int64_t i = 0; i < width; ++i) current[i] = previous[i] + row[i];
    }
  }
}

namespace {

// Ranking of (value, index) candidates: NaN above every number, then larger values, then the
// lower index. `ranks_before(a, b)` is true when a belongs earlier in the top-k list than b.
template <typename T>
struct Candidate {
  T value;
  int64_t index;
};

template <typename T>
bool ranks_before(const Candidate<T>& a, const Candidate<T>& b) {
  const bool a_nan = std::isnan(a.value), b_nan = std::isnan(b.value);
  if (a_nan != b_nan) return a_nan;
  if (!a_nan && a.value != b.value) return a.value > b.value;
  return a.index < b.index;
}

// One row. Small k: a heap of the k best seen so far whose root is the worst of them, so most
// elements cost one comparison. Large k: nth_element over all candidates, then a sort of the
// first k.
template <typename T>
void topk_row(const T* row, int64_t n, int64_t k, T* values, int64_t* indices,
              std::vector<Candidate<T>>& scratch) {
  scratch.clear();
  if (k * 16 <= n) {
    for (int64_t j = 0; j < k; ++j) scratch.push_back({row[j], j});
    std::make_heap(scratch.begin(), scratch.end(), ranks_before<T>);
    for (int64_t j = k; j < n; ++j) {
      // Most of a long row cannot enter: skip 16 at a time while none beats the current k-th
      // (!(x <= t) also catches NaN, which ranks first). Later equal values never enter.
      while (j + 16 <= n) {
        const T threshold = scratch.front().value;
        bool any = false;
        for (int64_t i = 0; i < 16; ++i) any |= !(row[j + i] <= threshold);
        if (any) break;
        j += 16;
      }
      if (j >= n) break;
      const Candidate<T> candidate{row[j], j};
      if (!ranks_before(candidate, scratch.front())) continue;
      std::pop_heap(scratch.begin(), scratch.end(), ranks_before<T>);
      scratch.back() = candidate;
      std::push_heap(scratch.begin(), scratch.end(), ranks_before<T>);
    }
    std::sort_heap(scratch.begin(), scratch.end(), ranks_before<T>);
  } else {
    for (int64_t j = 0; j < n; ++j) scratch.push_back({row[j], j});
    std::nth_element(scratch.begin(), scratch.begin() + (k - 1), scratch.end(), ranks_before<T>);
    std::sort(scratch.begin(), scratch.begin() + k, ranks_before<T>);
  }
  for (int64_t j = 0; j < k; ++j) {
    values[j] = scratch[static_cast<size_t>(j)].value;
    indices[j] = scratch[static_cast<size_t>(j)].index;
  }
}

}  // namespace

template <typename T>
void topk_rows(const T* x, T* values, int64_t* indices, int64_t rows, int64_t n, int64_t k) {
  if (k < 0 || k > n) {
    throw std::invalid_argument("topk_rows: k = " + std::to_string(k) + " for rows of length " +
                                std::to_string(n));
  }
  if (rows <= 0 || k == 0) return;
#pragma omp parallel if (rows * n >= kParallelMinElements)
  {
    std::vector<Candidate<T>> scratch;
    scratch.reserve(static_cast<size_t>(k * 16 <= n ? k : n));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      topk_row(x + r * n, n, k, values + r * k, indices + r * k, scratch);
    }
  }
}

#define TESSERA_DISPATCH_REDUCE(T)                                                      \
  template void reduce<T>(ReduceOp, const T*, T*, int64_t, int64_t, int64_t);           \
  template void argmax<T>(const T*, int64_t*, int64_t, int64_t, int64_t);               \
  template void variance<T>(const T*, T*, int64_t, int64_t, int64_t, bool);             \
  template void softmax_rows<T>(const T*, T*, int64_t, int64_t);                        \
  template void log_softmax_rows<T>(const T*, T*, int64_t, int64_t);                    \
  template void softmax_backward_rows<T>(const T*, const T*, T*, int64_t, int64_t);     \
  template void log_softmax_backward_rows<T>(const T*, const T*, T*, int64_t, int64_t); \
  template void cumsum<T>(const T*, T*, int64_t, int64_t, int64_t, bool);               \
  template void topk_rows<T>(const T*, T*, int64_t*, int64_t, int64_t, int64_t);
TESSERA_DISPATCH_REDUCE(float)
TESSERA_DISPATCH_REDUCE(double)
#undef TESSERA_DISPATCH_REDUCE

}  // namespace tessera::kernels
