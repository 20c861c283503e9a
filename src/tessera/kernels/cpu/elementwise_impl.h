#pragma once
// Elementwise kernels, written once over simd::Vec and compiled per instruction set by
// elementwise_avx2.cpp and elementwise_avx512.cpp (see simd.h for the namespace rule).
// The formulas are those of reference_elementwise.cpp.
#include <cstring>

#include "tessera/kernels/cpu/isa_kernels.h"
#include "tessera/kernels/cpu/parallel_policy.h"
#include "tessera/kernels/cpu/vector_math.h"

namespace tessera::kernels::TESSERA_ISA_NAMESPACE {

using simd::Vec;

namespace detail {

// Runs body(begin, end) over fixed chunks of [0, n); in parallel once n is large enough.
template <typename Body>
inline void parallel_chunks(int64_t n, Body body) {
  const int64_t chunks = ceil_div(n, kElementwiseChunk);
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kElementwiseChunk;
    const int64_t end = begin + kElementwiseChunk < n ? begin + kElementwiseChunk : n;
    body(begin, end);
  }
}

// y = f(x) lane-wise; the last partial vector is read and written through masks.
template <typename T, typename F>
inline void map_1(const T* x, T* y, int64_t n, F f) {
  using V = Vec<T>;
  parallel_chunks(n, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i + V::lanes <= end; i += V::lanes) f(V::load(x + i)).store(y + i);
    if (i < end) f(V::load_partial(x + i, end - i, T(1))).store_partial(y + i, end - i);
  });
}

// out = f(a, b, c) lane-wise.
template <typename T, typename F>
inline void map_3(const T* a, const T* b, const T* c, T* out, int64_t n, F f) {
  using V = Vec<T>;
  parallel_chunks(n, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i + V::lanes <= end; i += V::lanes) {
      f(V::load(a + i), V::load(b + i), V::load(c + i)).store(out + i);
    }
    if (i < end) {
      const int64_t r = end - i;
      f(V::load_partial(a + i, r, T(1)), V::load_partial(b + i, r, T(1)),
        V::load_partial(c + i, r, T(1)))
          .store_partial(out + i, r);
    }
  });
}

}  // namespace detail

template <typename T>
void unary(UnaryOp op, const T* x, T* y, int64_t n) {
  using V = Vec<T>;
  using namespace simd;
  const V zero = V::zero(), one = V::broadcast(T(1)), two = V::broadcast(T(2));
  // GELU tanh form: u = k (x + 0.044715 x^3), k = sqrt(2/pi); GELU = x sigma(2u).
  const V k = V::broadcast(T(0.79788456080286535588)), cubic = V::broadcast(T(0.044715));
  switch (op) {
    case UnaryOp::neg:
      return detail::map_1(x, y, n, [](V v) { return neg_v(v); });
    case UnaryOp::exp:
      return detail::map_1(x, y, n, [](V v) { return exp_v(v); });
    case UnaryOp::log:
      return detail::map_1(x, y, n, [](V v) { return log_v(v); });
    case UnaryOp::sqrt:
      return detail::map_1(x, y, n, [](V v) { return sqrt_v(v); });
    case UnaryOp::rsqrt:
      return detail::map_1(x, y, n, [&](V v) { return one / sqrt_v(v); });
    case UnaryOp::tanh:
      return detail::map_1(x, y, n, [](V v) { return tanh_v(v); });
    case UnaryOp::sigmoid:
      return detail::map_1(x, y, n, [](V v) { return sigmoid_v(v); });
    case UnaryOp::silu:
      return detail::map_1(x, y, n, [](V v) { return v * sigmoid_v(v); });
    case UnaryOp::gelu_tanh:
      return detail::map_1(x, y, n, [&](V v) {
        V u = k * mul_add(cubic * v, v * v, v);
        return v * sigmoid_v(two * u);
      });
    case UnaryOp::gelu_erf:
      return detail::map_1(x, y, n, [](V v) { return v * normal_cdf_v(v); });
    case UnaryOp::relu:
      return detail::map_1(x, y, n, [&](V v) { return max_v(zero, v); });
    case UnaryOp::softplus:
      return detail::map_1(x, y, n, [](V v) { return softplus_v(v); });
    case UnaryOp::abs:
      return detail::map_1(x, y, n, [](V v) { return abs_v(v); });
    case UnaryOp::square:
      return detail::map_1(x, y, n, [](V v) { return v * v; });
  }
}

// dx = dy * op'(x), the derivatives of reference.cpp's unary_derivative_scalar.
template <typename T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  using V = Vec<T>;
  using namespace simd;
  const V zero = V::zero(), one = V::broadcast(T(1)), two = V::broadcast(T(2));
  const V half = V::broadcast(T(0.5)), minus_half = V::broadcast(T(-0.5));
  const V k = V::broadcast(T(0.79788456080286535588)), cubic = V::broadcast(T(0.044715));
  const V cubic3 = V::broadcast(T(3 * 0.044715));
  auto run = [&](auto f) { detail::map_3(x, y, dy, dx, n, f); };
  switch (op) {
    case UnaryOp::neg:
      return run([](V, V, V g) { return neg_v(g); });
    case UnaryOp::exp:
      return run([](V, V v, V g) { return g * v; });
    case UnaryOp::log:
      return run([](V u, V, V g) { return g / u; });
    case UnaryOp::sqrt:
      return run([&](V, V v, V g) { return g * (half / v); });
    case UnaryOp::rsqrt:
      return run([&](V, V v, V g) { return g * (minus_half * v * v * v); });
    case UnaryOp::tanh:
      return run([&](V, V v, V g) { return g * neg_mul_add(v, v, one); });
    case UnaryOp::sigmoid:
      return run([&](V, V v, V g) { return g * (v * (one - v)); });
    case UnaryOp::silu:
      return run([&](V u, V, V g) {
        V s = sigmoid_v(u);
        return g * (s * mul_add(u, one - s, one));  // s (1 + x (1 - s))
      });
    case UnaryOp::gelu_tanh:
      return run([&](V u, V, V g) {
        // s + 2 x s (1 - s) k (1 + 3 c x^2), s = sigma(2 k (x + c x^3))
        V s = sigmoid_v(two * (k * mul_add(cubic * u, u * u, u)));
        V du = k * mul_add(cubic3 * u, u, one);
        return g * (s + two * u * s * (one - s) * du);
      });
    case UnaryOp::gelu_erf:
      return run([](V u, V, V g) { return g * mul_add(u, normal_pdf_v(u), normal_cdf_v(u)); });
    case UnaryOp::relu:
      return run([&](V u, V, V g) { return select(greater(u, zero), g, zero); });
    case UnaryOp::softplus:
      return run([](V u, V, V g) { return g * sigmoid_v(u); });
    case UnaryOp::abs:
      return run([&](V u, V, V g) {
        return select(greater(u, zero), g, select(less(u, zero), neg_v(g), zero));
      });
    case UnaryOp::square:
      return run([&](V u, V, V g) { return g * (two * u); });
  }
}

// y = x^p. Exponents with an exact cheaper form skip pow(): 0, 1, 2, -1 and 1/2 (sqrt, with
// pow's rules for -0 and -inf); the rest call the C library's pow per element.
template <typename T>
void pow_scalar(const T* x, T p, T* y, int64_t n) {
  using V = Vec<T>;
  using namespace simd;
  const V one = V::broadcast(T(1)), minus_inf = V::broadcast(-__builtin_inf());
  const V inf = V::broadcast(__builtin_inf());
  if (p == T(0)) return detail::map_1(x, y, n, [&](V) { return one; });
  if (p == T(1)) return detail::map_1(x, y, n, [](V v) { return v; });
  if (p == T(2)) return detail::map_1(x, y, n, [](V v) { return v * v; });
  if (p == T(-1)) return detail::map_1(x, y, n, [&](V v) { return one / v; });
  if (p == T(0.5)) {
    return detail::map_1(x, y, n,
                         [&](V v) { return select(equal(v, minus_inf), inf, abs_v(sqrt_v(v))); });
  }
  detail::parallel_chunks(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = std::pow(x[i], p);
  });
}

// min(max(x, lo), hi), in the operand order that lets NaN through (simd.h).
template <typename T>
void clamp(const T* x, T lo, T hi, T* y, int64_t n) {
  using V = Vec<T>;
  const V low = V::broadcast(lo), high = V::broadcast(hi);
  detail::map_1(x, y, n, [&](V v) { return simd::min_v(high, simd::max_v(low, v)); });
}

template <typename T>
void affine(const T* x, T a, T b, T* y, int64_t n) {
  using V = Vec<T>;
  const V scale = V::broadcast(a), shift = V::broadcast(b);
  detail::map_1(x, y, n, [&](V v) { return simd::mul_add(scale, v, shift); });
}

template <typename T>
void accumulate(const T* src, T* dst, int64_t n) {
  using V = Vec<T>;
  detail::map_3(src, dst, dst, dst, n, [](V s, V d, V) { return d + s; });
}

namespace detail {

// One run of a broadcasting binary op: a and b advance by a_step / b_step (0 = broadcast).
// vector_op handles the unit/zero step combinations, scalar_op everything else.
template <typename T, typename VectorOp, typename ScalarOp>
inline void binary_loop(const T* a, int64_t a_step, const T* b, int64_t b_step, T* out, int64_t n,
                        VectorOp vector_op, ScalarOp scalar_op) {
  using V = Vec<T>;
  const bool a_unit = a_step == 1, b_unit = b_step == 1;
  if ((a_unit || a_step == 0) && (b_unit || b_step == 0) && (a_unit || b_unit)) {
    const V a_scalar = V::broadcast(*a), b_scalar = V::broadcast(*b);
    int64_t i = 0;
    for (; i + V::lanes <= n; i += V::lanes) {
      V va = a_unit ? V::load(a + i) : a_scalar;
      V vb = b_unit ? V::load(b + i) : b_scalar;
      vector_op(va, vb).store(out + i);
    }
    if (i < n) {
      V va = a_unit ? V::load_partial(a + i, n - i, T(1)) : a_scalar;
      V vb = b_unit ? V::load_partial(b + i, n - i, T(1)) : b_scalar;
      vector_op(va, vb).store_partial(out + i, n - i);
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) out[i] = scalar_op(a[i * a_step], b[i * b_step]);
}

}  // namespace detail

template <typename T>
void binary_run(BinaryOp op, const T* a, int64_t a_step, const T* b, int64_t b_step, T* out,
                int64_t n) {
  using V = Vec<T>;
  using namespace simd;
  if (n <= 0) return;
  auto run = [&](auto vector_op, auto scalar_op) {
    detail::binary_loop(a, a_step, b, b_step, out, n, vector_op, scalar_op);
  };
  switch (op) {
    case BinaryOp::add:
      return run([](V p, V q) { return p + q; }, [](T p, T q) { return p + q; });
    case BinaryOp::sub:
      return run([](V p, V q) { return p - q; }, [](T p, T q) { return p - q; });
    case BinaryOp::mul:
      return run([](V p, V q) { return p * q; }, [](T p, T q) { return p * q; });
    case BinaryOp::div:
      return run([](V p, V q) { return p / q; }, [](T p, T q) { return p / q; });
    case BinaryOp::pow:
      for (int64_t i = 0; i < n; ++i) out[i] = std::pow(a[i * a_step], b[i * b_step]);
      return;
    // NaN from either side propagates: max_v returns q when either is NaN, so only a NaN p
    // needs the extra select.
    case BinaryOp::maximum:
      return run([](V p, V q) { return select(is_nan(p), p, max_v(p, q)); },
                 [](T p, T q) { return (p > q || p != p) ? p : q; });
    case BinaryOp::minimum:
      return run([](V p, V q) { return select(is_nan(p), p, min_v(p, q)); },
                 [](T p, T q) { return (p < q || p != p) ? p : q; });
  }
}

// ---- storage-format conversions (the rules of tessera/core/dtype.h).
namespace detail {

inline float half_to_float(uint16_t h) {
  if ((h & 0x7fffu) > 0x7c00u) {  // NaN: keep sign and payload, as the scalar rule does
    uint32_t u = (static_cast<uint32_t>(h & 0x8000u) << 16) | 0x7f800000u |
                 (static_cast<uint32_t>(h & 0x3ffu) << 13);
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
  }
  return _cvtsh_ss(h);
}

inline uint16_t float_to_half(float f) {
  if (f != f) {  // every NaN becomes the quiet NaN 0x7e00 with its sign
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return static_cast<uint16_t>(((u >> 16) & 0x8000u) | 0x7e00u);
  }
  return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

inline float bfloat_to_float(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline uint16_t float_to_bfloat(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

}  // namespace detail

#if defined(__AVX512F__)
inline constexpr int64_t kConvertLanes = 16;
#else
inline constexpr int64_t kConvertLanes = 8;
#endif

void bf16_to_f32(const uint16_t* src, float* dst, int64_t n) {
  detail::parallel_chunks(n, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i + kConvertLanes <= end; i += kConvertLanes) {
#if defined(__AVX512F__)
      __m512i wide =
          _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)));
      _mm512_storeu_si512(dst + i, _mm512_slli_epi32(wide, 16));
#else
      __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_slli_epi32(wide, 16));
#endif
    }
    for (; i < end; ++i) dst[i] = detail::bfloat_to_float(src[i]);
  });
}

// Round to nearest even on the 16 dropped bits: add 0x7fff plus the lowest kept bit, then shift;
// NaN lanes instead keep their top bits with the quiet bit (0x40) set.
void f32_to_bf16(const float* src, uint16_t* dst, int64_t n) {
  detail::parallel_chunks(n, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i + kConvertLanes <= end; i += kConvertLanes) {
#if defined(__AVX512F__)
      __m512i u = _mm512_loadu_si512(src + i);
      __m512i high = _mm512_srli_epi32(u, 16);
      __m512i rounded = _mm512_srli_epi32(
          _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff),
                                               _mm512_and_si512(high, _mm512_set1_epi32(1)))),
          16);
      __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                              _mm512_set1_epi32(0x7f800000));
      __m512i bits =
          _mm512_mask_blend_epi32(nan, rounded, _mm512_or_si512(high, _mm512_set1_epi32(0x40)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm512_cvtepi32_epi16(bits));
#else
      __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
      __m256i high = _mm256_srli_epi32(u, 16);
      __m256i rounded = _mm256_srli_epi32(
          _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff),
                                               _mm256_and_si256(high, _mm256_set1_epi32(1)))),
          16);
      __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)),
                                       _mm256_set1_epi32(0x7f800000));
      __m256i bits = _mm256_blendv_epi8(rounded, _mm256_or_si256(high, _mm256_set1_epi32(0x40)), nan);
      // packus works within 128-bit halves; the permute puts the eight results in order.
      __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(bits, bits), 0x08);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_castsi256_si128(packed));
#endif
    }
    for (; i < end; ++i) dst[i] = detail::float_to_bfloat(src[i]);
  });
}

// F16C converts exactly like IEEE round-to-nearest-even; only NaN encodings differ from the
// scalar rule, so vectors holding a NaN are redone lane by lane.
void f16_to_f32(const uint16_t* src, float* dst, int64_t n) {
  detail::parallel_chunks(n, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i + kConvertLanes <= end; i += kConvertLanes) {
#if defined(__AVX512F__)
      __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
      __m256i nan = _mm256_cmpgt_epi16(_mm256_and_si256(h, _mm256_set1_epi16(0x7fff)),
                                       _mm256_set1_epi16(0x7c00));
      _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(h));
      if (_mm256_movemask_epi8(nan) != 0) {
#else
      __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
      __m128i nan = _mm_cmpgt_epi16(_mm_and_si128(h, _mm_set1_epi16(0x7fff)), _mm_set1_epi16(0x7c00));
      _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
      if (_mm_movemask_epi8(nan) != 0) {
#endif
        for (int64_t j = i; j < i + kConvertLanes; ++j) dst[j] = detail::half_to_float(src[j]);
      }
    }
    for (; i < end; ++i) dst[i] = detail::half_to_float(src[i]);
  });
}

void f32_to_f16(const float* src, uint16_t* dst, int64_t n) {
  detail::parallel_chunks(n, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i + kConvertLanes <= end; i += kConvertLanes) {
#if defined(__AVX512F__)
      __m512 x = _mm512_loadu_ps(src + i);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                          _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      if (_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q) != 0) {
#else
      __m256 x = _mm256_loadu_ps(src + i);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                       _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      if (_mm256_movemask_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q)) != 0) {
#endif
        for (int64_t j = i; j < i + kConvertLanes; ++j) dst[j] = detail::float_to_half(src[j]);
      }
    }
    for (; i < end; ++i) dst[i] = detail::float_to_half(src[i]);
  });
}

}  // namespace tessera::kernels::TESSERA_ISA_NAMESPACE

// Explicit instantiations for one instruction set (used by elementwise_avx2/avx512.cpp).
#define TESSERA_INSTANTIATE_ELEMENTWISE_KERNELS(T)                                     \
  template void unary<T>(UnaryOp, const T*, T*, int64_t);                              \
  template void unary_backward<T>(UnaryOp, const T*, const T*, const T*, T*, int64_t); \
  template void pow_scalar<T>(const T*, T, T*, int64_t);                               \
  template void clamp<T>(const T*, T, T, T*, int64_t);                                 \
  template void affine<T>(const T*, T, T, T*, int64_t);                                \
  template void accumulate<T>(const T*, T*, int64_t);                                  \
  template void binary_run<T>(BinaryOp, const T*, int64_t, const T*, int64_t, T*, int64_t);
