#pragma once
// Thin wrappers over AVX2 and AVX-512 registers so each kernel is written once and compiled twice.
//
// Included only by the *_avx2.cpp and *_avx512.cpp translation units, which define
// TESSERA_ISA_NAMESPACE (avx2 or avx512) first. Everything lives inside that namespace: the two
// compilations use different instruction sets, so they must never share an inline symbol (the
// linker would keep one copy, and an AVX-512 copy reached from the AVX2 path would fault on CPUs
// without AVX-512). For the same reason kernel code here avoids std:: templates on floats.
//
// Width follows the compiler flags: __AVX512F__ gives 512-bit registers, otherwise 256-bit.
#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
// GCC 12's own avx512fintrin.h trips -Wmaybe-uninitialized on its "undefined vector" idiom
// (GCC bug 105593, fixed in GCC 13); the warning is about the compiler's header, not our code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <new>

#ifndef TESSERA_ISA_NAMESPACE
#error "define TESSERA_ISA_NAMESPACE (avx2 or avx512) before including simd.h"
#endif

namespace tessera::kernels::TESSERA_ISA_NAMESPACE::simd {

template <typename T>
struct Vec;

#if defined(__AVX512F__)

template <>
struct Vec<float> {
  static constexpr int lanes = 16;
  struct Mask {
    __mmask16 m;
    Mask operator|(Mask o) const { return {static_cast<__mmask16>(m | o.m)}; }
    Mask operator&(Mask o) const { return {static_cast<__mmask16>(m & o.m)}; }
    bool any() const { return m != 0; }
  };
  __m512 v;

  static Vec zero() { return {_mm512_setzero_ps()}; }
  static Vec broadcast(float x) { return {_mm512_set1_ps(x)}; }
  static Vec load(const float* p) { return {_mm512_loadu_ps(p)}; }
  // Reads the first `count` (< lanes) elements; the other lanes hold `fill`. Never touches memory
  // past p + count.
  static Vec load_partial(const float* p, int64_t count, float fill) {
    return {
        _mm512_mask_loadu_ps(_mm512_set1_ps(fill), static_cast<__mmask16>((1u << count) - 1), p)};
  }
  void store(float* p) const { _mm512_storeu_ps(p, v); }
  void store_partial(float* p, int64_t count) const {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << count) - 1), v);
  }
};

template <>
struct Vec<double> {
  static constexpr int lanes = 8;
  struct Mask {
    __mmask8 m;
    Mask operator|(Mask o) const { return {static_cast<__mmask8>(m | o.m)}; }
    Mask operator&(Mask o) const { return {static_cast<__mmask8>(m & o.m)}; }
    bool any() const { return m != 0; }
  };
  __m512d v;

  static Vec zero() { return {_mm512_setzero_pd()}; }
  static Vec broadcast(double x) { return {_mm512_set1_pd(x)}; }
  static Vec load(const double* p) { return {_mm512_loadu_pd(p)}; }
  static Vec load_partial(const double* p, int64_t count, double fill) {
    return {
        _mm512_mask_loadu_pd(_mm512_set1_pd(fill), static_cast<__mmask8>((1u << count) - 1), p)};
  }
  void store(double* p) const { _mm512_storeu_pd(p, v); }
  void store_partial(double* p, int64_t count) const {
    _mm512_mask_storeu_pd(p, static_cast<__mmask8>((1u << count) - 1), v);
  }
};

using VF = Vec<float>;
using VD = Vec<double>;

inline VF operator+(VF a, VF b) {
  return {_mm512_add_ps(a.v, b.v)};
}
inline VF operator-(VF a, VF b) {
  return {_mm512_sub_ps(a.v, b.v)};
}
inline VF operator*(VF a, VF b) {
  return {_mm512_mul_ps(a.v, b.v)};
}
inline VF operator/(VF a, VF b) {
  return {_mm512_div_ps(a.v, b.v)};
}
inline VF mul_add(VF a, VF b, VF c) {
  return {_mm512_fmadd_ps(a.v, b.v, c.v)};
}  // a*b + c
inline VF neg_mul_add(VF a, VF b, VF c) {
  return {_mm512_fnmadd_ps(a.v, b.v, c.v)};
}  // c - a*b
inline VF mul_sub(VF a, VF b, VF c) {
  return {_mm512_fmsub_ps(a.v, b.v, c.v)};
}  // a*b - c
// max_v/min_v follow the hardware rule: when either input is NaN the SECOND one is returned, so
// max_v(limit, x) lets a NaN x through.
inline VF max_v(VF a, VF b) {
  return {_mm512_max_ps(a.v, b.v)};
}
inline VF min_v(VF a, VF b) {
  return {_mm512_min_ps(a.v, b.v)};
}
inline VF sqrt_v(VF a) {
  return {_mm512_sqrt_ps(a.v)};
}
inline VF abs_v(VF a) {
  return {_mm512_abs_ps(a.v)};
}
inline VF neg_v(VF a) {
  return {_mm512_xor_ps(a.v, _mm512_set1_ps(-0.0f))};
}
inline VF sign_bit(VF a) {
  return {_mm512_and_ps(a.v, _mm512_set1_ps(-0.0f))};
}
inline VF or_bits(VF a, VF b) {
  return {_mm512_or_ps(a.v, b.v)};
}
inline VF round_nearest(VF a) {
  return {_mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)};
}
inline VF floor_v(VF a) {
  return {_mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)};
}
inline VF::Mask less(VF a, VF b) {
  return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ)};
}
inline VF::Mask less_equal(VF a, VF b) {
  return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_LE_OQ)};
}
inline VF::Mask greater(VF a, VF b) {
  return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_GT_OQ)};
}
inline VF::Mask equal(VF a, VF b) {
  return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_EQ_OQ)};
}
inline VF::Mask is_nan(VF a) {
  return {_mm512_cmp_ps_mask(a.v, a.v, _CMP_UNORD_Q)};
}
inline VF select(VF::Mask m, VF if_true, VF if_false) {
  return {_mm512_mask_blend_ps(m.m, if_false.v, if_true.v)};
}
inline float reduce_add(VF a) {
  return _mm512_reduce_add_ps(a.v);
}
inline float reduce_max(VF a) {
  return _mm512_reduce_max_ps(a.v);
}
inline float reduce_min(VF a) {
  return _mm512_reduce_min_ps(a.v);
}
// 2^n for integer-valued n in [-126, 127], built directly in the exponent field.
inline VF exp2_int(VF n) {
  __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n.v), _mm512_set1_epi32(127));
  return {_mm512_castsi512_ps(_mm512_slli_epi32(e, 23))};
}
// For positive normal x: x = m * 2^e with m in [0.5, 1); returns m and stores e.
inline VF split_exponent(VF x, VF& e) {
  __m512i bits = _mm512_castps_si512(x.v);
  __m512i biased = _mm512_srli_epi32(bits, 23);
  e = {_mm512_cvtepi32_ps(_mm512_sub_epi32(biased, _mm512_set1_epi32(126)))};
  __m512i mant = _mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi32(0x007fffff)),
                                 _mm512_set1_epi32(0x3f000000));
  return {_mm512_castsi512_ps(mant)};
}

inline VD operator+(VD a, VD b) {
  return {_mm512_add_pd(a.v, b.v)};
}
inline VD operator-(VD a, VD b) {
  return {_mm512_sub_pd(a.v, b.v)};
}
inline VD operator*(VD a, VD b) {
  return {_mm512_mul_pd(a.v, b.v)};
}
inline VD operator/(VD a, VD b) {
  return {_mm512_div_pd(a.v, b.v)};
}
inline VD mul_add(VD a, VD b, VD c) {
  return {_mm512_fmadd_pd(a.v, b.v, c.v)};
}
inline VD neg_mul_add(VD a, VD b, VD c) {
  return {_mm512_fnmadd_pd(a.v, b.v, c.v)};
}
inline VD mul_sub(VD a, VD b, VD c) {
  return {_mm512_fmsub_pd(a.v, b.v, c.v)};
}
inline VD max_v(VD a, VD b) {
  return {_mm512_max_pd(a.v, b.v)};
}
inline VD min_v(VD a, VD b) {
  return {_mm512_min_pd(a.v, b.v)};
}
inline VD sqrt_v(VD a) {
  return {_mm512_sqrt_pd(a.v)};
}
inline VD abs_v(VD a) {
  return {_mm512_abs_pd(a.v)};
}
inline VD neg_v(VD a) {
  return {_mm512_xor_pd(a.v, _mm512_set1_pd(-0.0))};
}
inline VD sign_bit(VD a) {
  return {_mm512_and_pd(a.v, _mm512_set1_pd(-0.0))};
}
inline VD or_bits(VD a, VD b) {
  return {_mm512_or_pd(a.v, b.v)};
}
inline VD::Mask less(VD a, VD b) {
  return {_mm512_cmp_pd_mask(a.v, b.v, _CMP_LT_OQ)};
}
inline VD::Mask less_equal(VD a, VD b) {
  return {_mm512_cmp_pd_mask(a.v, b.v, _CMP_LE_OQ)};
}
inline VD::Mask greater(VD a, VD b) {
  return {_mm512_cmp_pd_mask(a.v, b.v, _CMP_GT_OQ)};
}
inline VD::Mask equal(VD a, VD b) {
  return {_mm512_cmp_pd_mask(a.v, b.v, _CMP_EQ_OQ)};
}
inline VD::Mask is_nan(VD a) {
  return {_mm512_cmp_pd_mask(a.v, a.v, _CMP_UNORD_Q)};
}
inline VD select(VD::Mask m, VD if_true, VD if_false) {
  return {_mm512_mask_blend_pd(m.m, if_false.v, if_true.v)};
}
inline double reduce_add(VD a) {
  return _mm512_reduce_add_pd(a.v);
}
inline double reduce_max(VD a) {
  return _mm512_reduce_max_pd(a.v);
}
inline double reduce_min(VD a) {
  return _mm512_reduce_min_pd(a.v);
}

#else  // AVX2 + FMA

namespace lane_masks {
// Lane i is all ones when i < count: the mask maskload/maskstore need for a partial vector.
inline __m256i first_lanes_32(int64_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline __m256i first_lanes_64(int64_t count) {
  return _mm256_cmpgt_epi64(_mm256_set1_epi64x(count), _mm256_setr_epi64x(0, 1, 2, 3));
}
}  // namespace lane_masks

template <>
struct Vec<float> {
  static constexpr int lanes = 8;
  struct Mask {
    __m256 m;
    Mask operator|(Mask o) const { return {_mm256_or_ps(m, o.m)}; }
    Mask operator&(Mask o) const { return {_mm256_and_ps(m, o.m)}; }
    bool any() const { return _mm256_movemask_ps(m) != 0; }
  };
  __m256 v;

  static Vec zero() { return {_mm256_setzero_ps()}; }
  static Vec broadcast(float x) { return {_mm256_set1_ps(x)}; }
  static Vec load(const float* p) { return {_mm256_loadu_ps(p)}; }
  static Vec load_partial(const float* p, int64_t count, float fill) {
    __m256i lanes_mask = lane_masks::first_lanes_32(count);
    __m256 loaded = _mm256_maskload_ps(p, lanes_mask);
    return {_mm256_blendv_ps(_mm256_set1_ps(fill), loaded, _mm256_castsi256_ps(lanes_mask))};
  }
  void store(float* p) const { _mm256_storeu_ps(p, v); }
  void store_partial(float* p, int64_t count) const {
    _mm256_maskstore_ps(p, lane_masks::first_lanes_32(count), v);
  }
};

template <>
struct Vec<double> {
  static constexpr int lanes = 4;
  struct Mask {
    __m256d m;
    Mask operator|(Mask o) const { return {_mm256_or_pd(m, o.m)}; }
    Mask operator&(Mask o) const { return {_mm256_and_pd(m, o.m)}; }
    bool any() const { return _mm256_movemask_pd(m) != 0; }
  };
  __m256d v;

  static Vec zero() { return {_mm256_setzero_pd()}; }
  static Vec broadcast(double x) { return {_mm256_set1_pd(x)}; }
  static Vec load(const double* p) { return {_mm256_loadu_pd(p)}; }
  static Vec load_partial(const double* p, int64_t count, double fill) {
    __m256i lanes_mask = lane_masks::first_lanes_64(count);
    __m256d loaded = _mm256_maskload_pd(p, lanes_mask);
    return {_mm256_blendv_pd(_mm256_set1_pd(fill), loaded, _mm256_castsi256_pd(lanes_mask))};
  }
  void store(double* p) const { _mm256_storeu_pd(p, v); }
  void store_partial(double* p, int64_t count) const {
    _mm256_maskstore_pd(p, lane_masks::first_lanes_64(count), v);
  }
};

using VF = Vec<float>;
using VD = Vec<double>;

inline VF operator+(VF a, VF b) {
  return {_mm256_add_ps(a.v, b.v)};
}
inline VF operator-(VF a, VF b) {
  return {_mm256_sub_ps(a.v, b.v)};
}
inline VF operator*(VF a, VF b) {
  return {_mm256_mul_ps(a.v, b.v)};
}
inline VF operator/(VF a, VF b) {
  return {_mm256_div_ps(a.v, b.v)};
}
inline VF mul_add(VF a, VF b, VF c) {
  return {_mm256_fmadd_ps(a.v, b.v, c.v)};
}
inline VF neg_mul_add(VF a, VF b, VF c) {
  return {_mm256_fnmadd_ps(a.v, b.v, c.v)};
}
inline VF mul_sub(VF a, VF b, VF c) {
  return {_mm256_fmsub_ps(a.v, b.v, c.v)};
}
inline VF max_v(VF a, VF b) {
  return {_mm256_max_ps(a.v, b.v)};
}
inline VF min_v(VF a, VF b) {
  return {_mm256_min_ps(a.v, b.v)};
}
inline VF sqrt_v(VF a) {
  return {_mm256_sqrt_ps(a.v)};
}
inline VF abs_v(VF a) {
  return {_mm256_andnot_ps(_mm256_set1_ps(-0.0f), a.v)};
}
inline VF neg_v(VF a) {
  return {_mm256_xor_ps(a.v, _mm256_set1_ps(-0.0f))};
}
inline VF sign_bit(VF a) {
  return {_mm256_and_ps(a.v, _mm256_set1_ps(-0.0f))};
}
inline VF or_bits(VF a, VF b) {
  return {_mm256_or_ps(a.v, b.v)};
}
inline VF round_nearest(VF a) {
  return {_mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)};
}
inline VF floor_v(VF a) {
  return {_mm256_round_ps(a.v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)};
}
inline VF::Mask less(VF a, VF b) {
  return {_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ)};
}
inline VF::Mask less_equal(VF a, VF b) {
  return {_mm256_cmp_ps(a.v, b.v, _CMP_LE_OQ)};
}
inline VF::Mask greater(VF a, VF b) {
  return {_mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ)};
}
inline VF::Mask equal(VF a, VF b) {
  return {_mm256_cmp_ps(a.v, b.v, _CMP_EQ_OQ)};
}
inline VF::Mask is_nan(VF a) {
  return {_mm256_cmp_ps(a.v, a.v, _CMP_UNORD_Q)};
}
inline VF select(VF::Mask m, VF if_true, VF if_false) {
  return {_mm256_blendv_ps(if_false.v, if_true.v, m.m)};
}
inline float reduce_add(VF a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline float reduce_max(VF a) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline float reduce_min(VF a) {
  __m128 s = _mm_min_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
  s = _mm_min_ps(s, _mm_movehl_ps(s, s));
  s = _mm_min_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline VF exp2_int(VF n) {
  __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n.v), _mm256_set1_epi32(127));
  return {_mm256_castsi256_ps(_mm256_slli_epi32(e, 23))};
}
inline VF split_exponent(VF x, VF& e) {
  __m256i bits = _mm256_castps_si256(x.v);
  __m256i biased = _mm256_srli_epi32(bits, 23);
  e = {_mm256_cvtepi32_ps(_mm256_sub_epi32(biased, _mm256_set1_epi32(126)))};
  __m256i mant = _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                 _mm256_set1_epi32(0x3f000000));
  return {_mm256_castsi256_ps(mant)};
}

inline VD operator+(VD a, VD b) {
  return {_mm256_add_pd(a.v, b.v)};
}
inline VD operator-(VD a, VD b) {
  return {_mm256_sub_pd(a.v, b.v)};
}
inline VD operator*(VD a, VD b) {
  return {_mm256_mul_pd(a.v, b.v)};
}
inline VD operator/(VD a, VD b) {
  return {_mm256_div_pd(a.v, b.v)};
}
inline VD mul_add(VD a, VD b, VD c) {
  return {_mm256_fmadd_pd(a.v, b.v, c.v)};
}
inline VD neg_mul_add(VD a, VD b, VD c) {
  return {_mm256_fnmadd_pd(a.v, b.v, c.v)};
}
inline VD mul_sub(VD a, VD b, VD c) {
  return {_mm256_fmsub_pd(a.v, b.v, c.v)};
}
inline VD max_v(VD a, VD b) {
  return {_mm256_max_pd(a.v, b.v)};
}
inline VD min_v(VD a, VD b) {
  return {_mm256_min_pd(a.v, b.v)};
}
inline VD sqrt_v(VD a) {
  return {_mm256_sqrt_pd(a.v)};
}
inline VD abs_v(VD a) {
  return {_mm256_andnot_pd(_mm256_set1_pd(-0.0), a.v)};
}
inline VD neg_v(VD a) {
  return {_mm256_xor_pd(a.v, _mm256_set1_pd(-0.0))};
}
inline VD sign_bit(VD a) {
  return {_mm256_and_pd(a.v, _mm256_set1_pd(-0.0))};
}
inline VD or_bits(VD a, VD b) {
  return {_mm256_or_pd(a.v, b.v)};
}
inline VD::Mask less(VD a, VD b) {
  return {_mm256_cmp_pd(a.v, b.v, _CMP_LT_OQ)};
}
inline VD::Mask less_equal(VD a, VD b) {
  return {_mm256_cmp_pd(a.v, b.v, _CMP_LE_OQ)};
}
inline VD::Mask greater(VD a, VD b) {
  return {_mm256_cmp_pd(a.v, b.v, _CMP_GT_OQ)};
}
inline VD::Mask equal(VD a, VD b) {
  return {_mm256_cmp_pd(a.v, b.v, _CMP_EQ_OQ)};
}
inline VD::Mask is_nan(VD a) {
  return {_mm256_cmp_pd(a.v, a.v, _CMP_UNORD_Q)};
}
inline VD select(VD::Mask m, VD if_true, VD if_false) {
  return {_mm256_blendv_pd(if_false.v, if_true.v, m.m)};
}
inline double reduce_add(VD a) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(a.v), _mm256_extractf128_pd(a.v, 1));
  s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s);
}
inline double reduce_max(VD a) {
  __m128d s = _mm_max_pd(_mm256_castpd256_pd128(a.v), _mm256_extractf128_pd(a.v, 1));
  s = _mm_max_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s);
}
inline double reduce_min(VD a) {
  __m128d s = _mm_min_pd(_mm256_castpd256_pd128(a.v), _mm256_extractf128_pd(a.v, 1));
  s = _mm_min_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s);
}

#endif

// Zero-filled temporary storage. malloc rather than std::vector: a std:: template instantiated
// here would be compiled with this file's instruction set under a name shared with other files.
template <typename T>
class Scratch {
 public:
  explicit Scratch(int64_t count)
      : data_(static_cast<T*>(std::calloc(count > 0 ? static_cast<size_t>(count) : 1, sizeof(T)))) {
    if (!data_) throw std::bad_alloc();
  }
  ~Scratch() { std::free(data_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* get() const { return data_; }

 private:
  T* data_;
};

// Applies a scalar function to every lane: the f64 kernels call the C library's transcendental
// functions this way (they exist for exact gradient checks, not for speed).
template <typename F>
inline VD map_lanes(VD x, F f) {
  alignas(64) double buffer[VD::lanes];
  x.store(buffer);
  for (int i = 0; i < VD::lanes; ++i) buffer[i] = f(buffer[i]);
  return VD::load(buffer);
}

}  // namespace tessera::kernels::TESSERA_ISA_NAMESPACE::simd
