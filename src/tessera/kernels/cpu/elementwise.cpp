// Run-time dispatch of the elementwise kernels to the AVX-512 or AVX2 build (isa_kernels.h).
#include "tessera/kernels/cpu/elementwise.h"

#include "tessera/kernels/cpu/dispatch.h"
#include "tessera/kernels/cpu/isa_kernels.h"

namespace tessera::kernels {

namespace {
bool use_avx512() {
  return active_isa() == Isa::avx512;
}
}  // namespace

template <typename T>
void unary(UnaryOp op, const T* x, T* y, int64_t n) {
  if (n <= 0) return;
  use_avx512() ? avx512::unary(op, x, y, n) : avx2::unary(op, x, y, n);
}

template <typename T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  if (n <= 0) return;
  use_avx512() ? avx512::unary_backward(op, x, y, dy, dx, n)
               : avx2::unary_backward(op, x, y, dy, dx, n);
}

template <typename T>
void pow_scalar(const T* x, T p, T* y, int64_t n) {
  if (n <= 0) return;
  use_avx512() ? avx512::pow_scalar(x, p, y, n) : avx2::pow_scalar(x, p, y, n);
}

template <typename T>
void clamp(const T* x, T lo, T hi, T* y, int64_t n) {
  if (n <= 0) return;
  use_avx512() ? avx512::clamp(x, lo, hi, y, n) : avx2::clamp(x, lo, hi, y, n);
}

template <typename T>
void affine(const T* x, T a, T b, T* y, int64_t n) {
  if (n <= 0) return;
  use_avx512() ? avx512::affine(x, a, b, y, n) : avx2::affine(x, a, b, y, n);
}

template <typename T>
void accumulate(const T* src, T* dst, int64_t n) {
  if (n <= 0) return;
  use_avx512() ? avx512::accumulate(src, dst, n) : avx2::accumulate(src, dst, n);
}

void bf16_to_f32(const uint16_t* src, float* dst, int64_t n) {
  if (n <= 0) return;
  use_avx512() ? avx512::bf16_to_f32(src, dst, n) : avx2::bf16_to_f32(src, dst, n);
}
void f32_to_bf16(const float* src, uint16_t* dst, int64_t n) {
  if (n <= 0) return;
  use_avx512() ? avx512::f32_to_bf16(src, dst, n) : avx2::f32_to_bf16(src, dst, n);
}
void f16_to_f32(const uint16_t* src, float* dst, int64_t n) {
  if (n <= 0) return;
  use_avx512() ? avx512::f16_to_f32(src, dst, n) : avx2::f16_to_f32(src, dst, n);
}
void f32_to_f16(const float* src, uint16_t* dst, int64_t n) {
  if (n <= 0) return;
  use_avx512() ? avx512::f32_to_f16(src, dst, n) : avx2::f32_to_f16(src, dst, n);
}

#define TESSERA_DISPATCH_ELEMENTWISE(T)                                                \
  template void unary<T>(UnaryOp, const T*, T*, int64_t);                              \
  template void unary_backward<T>(UnaryOp, const T*, const T*, const T*, T*, int64_t); \
  template void pow_scalar<T>(const T*, T, T*, int64_t);                               \
  template void clamp<T>(const T*, T, T, T*, int64_t);                                 \
  template void affine<T>(const T*, T, T, T*, int64_t);                                \
  template void accumulate<T>(const T*, T*, int64_t);
TESSERA_DISPATCH_ELEMENTWISE(float)
TESSERA_DISPATCH_ELEMENTWISE(double)
#undef TESSERA_DISPATCH_ELEMENTWISE

}  // namespace tessera::kernels
