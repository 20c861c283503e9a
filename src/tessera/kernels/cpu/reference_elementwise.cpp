// Scalar reference for the elementwise kernels: the definitions the fast kernels must match.
#pragma GCC optimize("no-tree-vectorize")

#include <cmath>
#include <cstring>

#include "tessera/kernels/cpu/reference.h"

namespace tessera::kernels::reference {

namespace {
constexpr double kSqrtTwoOverPi = 0.79788456080286535588;  // GELU tanh form: k = sqrt(2/pi)
constexpr double kGeluCubic = 0.044715;
constexpr double kInvSqrtTwo = 0.70710678118654752440;
constexpr double kInvSqrtTwoPi = 0.39894228040143267794;

// sigma(x) = 1/(1 + e^-x), written as e^x/(1 + e^x) for negative x so that tiny results keep
// their relative accuracy (1 + e^-x would overflow first).
template <typename T>
T sigmoid(T x) {
  return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
}
// Phi(x) = erfc(-x/sqrt 2) / 2: the normal CDF, written with erfc so it keeps its relative
// accuracy for negative x (1 + erf(x/sqrt 2) would cancel).
template <typename T>
T normal_cdf(T x) {
  return T(0.5) * std::erfc(-x * T(kInvSqrtTwo));
}
// u(x) = k (x + 0.044715 x^3) of the tanh GELU.
template <typename T>
T gelu_tanh_argument(T x) {
  return T(kSqrtTwoOverPi) * (x + T(kGeluCubic) * x * x * x);
}
}  // namespace

template <typename T>
T unary_scalar(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::neg:
      return -x;
    case UnaryOp::exp:
      return std::exp(x);
    case UnaryOp::log:
      return std::log(x);
    case UnaryOp::sqrt:
      return std::sqrt(x);
    case UnaryOp::rsqrt:
      return T(1) / std::sqrt(x);
    case UnaryOp::tanh:
      return std::tanh(x);
    case UnaryOp::sigmoid:
      return sigmoid(x);
    case UnaryOp::silu:
      return x * sigmoid(x);
    // GELU (Hendrycks & Gimpel), tanh form: x/2 (1 + tanh u) = x sigma(2u), the second way of
    // writing it avoids the cancellation of 1 + tanh u for negative u.
    case UnaryOp::gelu_tanh:
      return x * sigmoid(T(2) * gelu_tanh_argument(x));
    case UnaryOp::gelu_erf:
      return x * normal_cdf(x);  // exact GELU: x Phi(x)
    case UnaryOp::relu:
      return x < T(0) ? T(0) : x;  // NaN stays NaN
    // softplus(x) = log(1 + e^x), arranged so e^x never overflows.
    case UnaryOp::softplus:
      return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    case UnaryOp::abs:
      return std::fabs(x);
    case UnaryOp::square:
      return x * x;
  }
  return x;
}

template <typename T>
T unary_derivative_scalar(UnaryOp op, T x, T y) {
  switch (op) {
    case UnaryOp::neg:
      return T(-1);
    case UnaryOp::exp:
      return y;
    case UnaryOp::log:
      return T(1) / x;
    case UnaryOp::sqrt:
      return T(0.5) / y;
    case UnaryOp::rsqrt:
      return T(-0.5) * y * y * y;  // d x^{-1/2} = -x^{-3/2}/2
    case UnaryOp::tanh:
      return T(1) - y * y;
    case UnaryOp::sigmoid:
      return y * (T(1) - y);
    case UnaryOp::silu: {
      T s = sigmoid(x);
      return s * (T(1) + x * (T(1) - s));
    }
    case UnaryOp::gelu_tanh: {
      // d/dx [x s(2u)] = s + 2 x s (1 - s) u'(x), u' = k (1 + 3 * 0.044715 x^2)
      T s = sigmoid(T(2) * gelu_tanh_argument(x));
      T du = T(kSqrtTwoOverPi) * (T(1) + T(3 * kGeluCubic) * x * x);
      return s + T(2) * x * s * (T(1) - s) * du;
    }
    case UnaryOp::gelu_erf:  // d/dx [x Phi(x)] = Phi(x) + x phi(x)
      return normal_cdf(x) + x * std::exp(T(-0.5) * x * x) * T(kInvSqrtTwoPi);
    case UnaryOp::relu:
      return x > T(0) ? T(1) : T(0);
    case UnaryOp::softplus:
      return sigmoid(x);
    case UnaryOp::abs:
      return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
    case UnaryOp::square:
      return T(2) * x;
  }
  return T(0);
}

template <typename T>
T binary_scalar(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add:
      return a + b;
    case BinaryOp::sub:
      return a - b;
    case BinaryOp::mul:
      return a * b;
    case BinaryOp::div:
      return a / b;
    case BinaryOp::pow:
      return std::pow(a, b);
    // maximum/minimum propagate NaN from either side (as torch.maximum does).
    case BinaryOp::maximum:
      return (a > b || std::isnan(a)) ? a : b;
    case BinaryOp::minimum:
      return (a < b || std::isnan(a)) ? a : b;
  }
  return a;
}

template <typename T>
void unary(UnaryOp op, const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = unary_scalar(op, x[i]);
}

template <typename T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * unary_derivative_scalar(op, x[i], y[i]);
}

template <typename T>
void pow_scalar(const T* x, T p, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::pow(x[i], p);
}

template <typename T>
void clamp(const T* x, T lo, T hi, T* y, int64_t n) {
  // min(max(x, lo), hi): NaN stays NaN, and lo > hi gives hi (as torch.clamp).
  for (int64_t i = 0; i < n; ++i) {
    T raised = x[i] < lo ? lo : x[i];
    y[i] = raised > hi ? hi : raised;
  }
}

template <typename T>
void affine(const T* x, T a, T b, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a * x[i] + b;
}

// Visits every index of `shape` in row-major order, keeping one element offset per stride list.
namespace {
template <typename Visit>
void for_each_index(const int64_t* shape, int ndim, Visit visit) {
  int64_t total = 1;
  for (int d = 0; d < ndim; ++d) total *= shape[d];
  int64_t index[8] = {0};
  for (int64_t flat = 0; flat < total; ++flat) {
    visit(flat, index);
    for (int d = ndim - 1; d >= 0; --d) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}
int64_t offset_of(const int64_t* index, const int64_t* strides, int ndim) {
  int64_t offset = 0;
  for (int d = 0; d < ndim; ++d) offset += index[d] * strides[d];
  return offset;
}
}  // namespace

template <typename T>
void binary(BinaryOp op, const T* a, const int64_t* a_strides, const T* b, const int64_t* b_strides,
            T* out, const int64_t* shape, int ndim) {
  for_each_index(shape, ndim, [&](int64_t flat, const int64_t* index) {
    out[flat] = binary_scalar(op, a[offset_of(index, a_strides, ndim)],
                              b[offset_of(index, b_strides, ndim)]);
  });
}

void copy_strided(const void* src, const int64_t* src_strides, void* dst, const int64_t* shape,
                  int ndim, int64_t element_size) {
  const auto* from = static_cast<const unsigned char*>(src);
  auto* to = static_cast<unsigned char*>(dst);
  const auto size = static_cast<size_t>(element_size);
  for_each_index(shape, ndim, [&](int64_t flat, const int64_t* index) {
    std::memcpy(to + flat * element_size, from + offset_of(index, src_strides, ndim) * element_size,
                size);
  });
}

template <typename T>
void accumulate(const T* src, T* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

// ---- storage formats. bfloat16 is the top half of an f32; rounding down is to nearest even
// on the dropped 16 bits, and a NaN keeps its sign and top payload bits with the quiet bit set.
float bf16_to_f32_scalar(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

uint16_t f32_to_bf16_scalar(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if (std::isnan(f)) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  uint32_t dropped = u & 0xffffu;
  uint32_t kept = u >> 16;
  if (dropped > 0x8000u || (dropped == 0x8000u && (kept & 1u))) ++kept;  // carries into exponent
  return static_cast<uint16_t>(kept);
}

// IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Every NaN becomes the quiet NaN
// 0x7e00 with the input's sign (as tessera/core/dtype.h does).
float f16_to_f32_scalar(uint16_t bits) {
  const bool negative = (bits & 0x8000u) != 0;
  const uint32_t exponent = (bits >> 10) & 0x1fu;
  const uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in f32
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return negative ? -magnitude : magnitude;
  }
  uint32_t u = (negative ? 0x80000000u : 0u);
  if (exponent == 31) {
    u |= 0x7f800000u | (mantissa << 13);  // inf, or NaN with its payload
  } else {
    u |= ((exponent - 15 + 127) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

uint16_t f32_to_f16_scalar(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  if (std::isnan(f)) return static_cast<uint16_t>(sign | 0x7e00u);
  const float magnitude = std::fabs(f);
  if (magnitude >= 65520.0f) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504
  if (magnitude < 0x1p-14f) {
    // Subnormal half: the result is round-to-nearest-even(|f| * 2^24) units of 2^-24 (the
    // scaling is exact; 1024 units is the smallest normal, encoded by the same bits).
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(magnitude * 0x1p24f)));
  }
  // Normal half: rebias the exponent, then round the 13 dropped mantissa bits to nearest even.
  uint32_t rebiased = (u & 0x7fffffffu) - ((127u - 15u) << 23);
  uint32_t dropped = rebiased & 0x1fffu;
  uint32_t kept = rebiased >> 13;
  if (dropped > 0x1000u || (dropped == 0x1000u && (kept & 1u))) ++kept;
  return static_cast<uint16_t>(sign | kept);
}

void bf16_to_f32(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32_scalar(src[i]);
}
void f32_to_bf16(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_bf16_scalar(src[i]);
}
void f16_to_f32(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32_scalar(src[i]);
}
void f32_to_f16(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_f16_scalar(src[i]);
}

#define TESSERA_REFERENCE_ELEMENTWISE(T)                                                    \
  template T unary_scalar<T>(UnaryOp, T);                                                   \
  template T unary_derivative_scalar<T>(UnaryOp, T, T);                                     \
  template T binary_scalar<T>(BinaryOp, T, T);                                              \
  template void unary<T>(UnaryOp, const T*, T*, int64_t);                                   \
  template void unary_backward<T>(UnaryOp, const T*, const T*, const T*, T*, int64_t);      \
  template void pow_scalar<T>(const T*, T, T*, int64_t);                                    \
  template void clamp<T>(const T*, T, T, T*, int64_t);                                      \
  template void affine<T>(const T*, T, T, T*, int64_t);                                     \
  template void binary<T>(BinaryOp, const T*, const int64_t*, const T*, const int64_t*, T*, \
                          const int64_t*, int);                                             \
  template void accumulate<T>(const T*, T*, int64_t);
TESSERA_REFERENCE_ELEMENTWISE(float)
TESSERA_REFERENCE_ELEMENTWISE(double)
#undef TESSERA_REFERENCE_ELEMENTWISE

}  // namespace tessera::kernels::reference
