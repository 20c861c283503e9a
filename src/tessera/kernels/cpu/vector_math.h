#pragma once
// Vectorised elementary functions for the kernels (same inclusion rule as simd.h).
//
// f32: our own range reduction + polynomial evaluations, so the loops stay in registers. Errors
// measured against the C library in tests/kernels/vector_math_test.cpp: exp, log, tanh within
// 2 ulp; the normal CDF within a few ulp over the whole range, tails included.
// f64: every lane goes through the C library (f64 is for gradient checks, where exactness beats
// speed), which makes the f64 kernels bit-compatible with the reference ones.
#include "tessera/kernels/cpu/simd.h"

namespace tessera::kernels::TESSERA_ISA_NAMESPACE::simd {

inline VF constant(float x) {
  return VF::broadcast(x);
}

// Horner evaluation of c[0]*t^(N-1) + ... + c[N-1], highest degree first.
template <size_t N>
inline VF polynomial(VF t, const float (&c)[N]) {
  VF p = constant(c[0]);
  for (size_t i = 1; i < N; ++i) p = mul_add(p, t, constant(c[i]));
  return p;
}

// e^x = 2^n * e^r with n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2] (Cody-Waite split of
// ln 2 so n ln 2 is subtracted exactly), e^r from a degree-7 polynomial with Cephes' expf
// coefficients. 2^n is applied as two factors so that results in the subnormal range round
// once (gradual underflow) and x > 88.72 overflows to +inf. NaN propagates.
inline VF exp_v(VF x) {
  x = min_v(constant(89.0f), max_v(constant(-104.0f), x));  // NaN passes (second operand)
  VF n = round_nearest(x * constant(1.44269504088896341f));
  VF r = neg_mul_add(n, constant(0.693359375f), x);
  r = neg_mul_add(n, constant(-2.12194440e-4f), r);
  static constexpr float coefficients[] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                           4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
  VF p = polynomial(r, coefficients);
  p = mul_add(p, r * r, r + constant(1.0f));
  VF n_half = floor_v(n * constant(0.5f));
  return p * exp2_int(n_half) * exp2_int(n - n_half);
}

// ln x = e ln 2 + ln m with x = m 2^e, m folded into [sqrt(1/2), sqrt(2)); ln(1 + f) from the
// Cephes logf polynomial in f. Subnormal inputs are scaled by 2^23 first. Specials as IEEE:
// ln 0 = -inf, ln(x < 0) = NaN, ln inf = inf, NaN propagates.
inline VF log_v(VF x) {
  VF::Mask subnormal = less(x, constant(1.17549435e-38f));
  VF scaled = select(subnormal, x * constant(8388608.0f), x);
  VF e;
  VF m = split_exponent(scaled, e);
  e = select(subnormal, e - constant(23.0f), e);
  VF::Mask below = less(m, constant(0.707106781186547524f));
  e = select(below, e - constant(1.0f), e);
  VF f = select(below, m + m - constant(1.0f), m - constant(1.0f));
  VF z = f * f;
  static constexpr float coefficients[] = {7.0376836292e-2f,  -1.1514610310e-1f, 1.1676998740e-1f,
                                           -1.2420140846e-1f, 1.4249322787e-1f,  -1.6668057665e-1f,
                                           2.0000714765e-1f,  -2.4999993993e-1f, 3.3333331174e-1f};
  VF y = polynomial(f, coefficients) * f * z;
  y = mul_add(e, constant(-2.12194440e-4f), y);
  y = neg_mul_add(constant(0.5f), z, y);
  VF result = mul_add(e, constant(0.693359375f), f + y);
  const float inf = __builtin_inff();
  result = select(equal(x, constant(0.0f)), constant(-inf), result);
  result = select(less(x, constant(0.0f)), constant(__builtin_nanf("")), result);
  result = select(equal(x, constant(inf)), constant(inf), result);
  return select(is_nan(x), x, result);
}

// tanh: |x| < 0.625 uses Cephes' odd polynomial x + x^3 P(x^2); elsewhere 1 - 2/(e^{2|x|} + 1)
// with the sign of x (no cancellation there since tanh >= 0.55). Saturates to +-1, NaN propagates.
// Both branches work on |x| and the sign is put back last (tanh is odd), which keeps -0.
inline VF tanh_v(VF x) {
  VF a = abs_v(x);
  VF z = x * x;
  static constexpr float coefficients[] = {-5.70498872745e-3f, 2.06390887954e-2f,
                                           -5.37397155531e-2f, 1.33314422036e-1f,
                                           -3.33332819422e-1f};
  VF small = mul_add(polynomial(z, coefficients) * z, a, a);
  VF large = constant(1.0f) - constant(2.0f) / (exp_v(a + a) + constant(1.0f));
  return or_bits(select(less(a, constant(0.625f)), small, large), sign_bit(x));
}

// sigma(x) = 1/(1 + e^-x) for x >= 0 and e^x/(1 + e^x) below, so the negative tail keeps its
// relative accuracy down to the subnormal range instead of flushing once e^-x overflows.
inline VF sigmoid_v(VF x) {
  VF t = exp_v(neg_v(abs_v(x)));
  VF r = constant(1.0f) / (constant(1.0f) + t);
  return select(less(x, constant(0.0f)), t * r, r);
}

// softplus(x) = max(x, 0) + log1p(e^-|x|), with log1p(t) = ln(u) - ((u - 1) - t)/u, u = 1 + t
// (the correction recovers the bits of t lost when forming 1 + t).
inline VF softplus_v(VF x) {
  VF t = exp_v(neg_v(abs_v(x)));
  VF u = constant(1.0f) + t;
  VF log1p_t = log_v(u) - ((u - constant(1.0f)) - t) / u;
  return max_v(constant(0.0f), x) + log1p_t;
}

// exp(-x^2/2) for |x| <= 15 without the error of rounding x^2: x^2 = hi + lo exactly (FMA), and
// e^{-lo/2} = 1 - lo/2 to f32 precision since |lo| <= ulp(hi)/2.
inline VF gaussian_kernel_v(VF x) {
  VF hi = x * x;
  VF lo = mul_sub(x, x, hi);
  return exp_v(hi * constant(-0.5f)) * neg_mul_add(constant(0.5f), lo, constant(1.0f));
}

// Normal CDF Phi(x) = erfc(-x/sqrt 2)/2, accurate in relative terms in both tails (needed for
// GELU(x) = x Phi(x) at negative x). |x| < sqrt 2: Phi = 1/2 + x A(x^2); otherwise with a = |x|,
// Phi(-a) = exp(-a^2/2) v H(w), v = 1/a, w = (v - 0.388)/0.319 in [-1, 1]. A and H are our own
// Chebyshev fits (mpmath.chebyfit of (Phi(sqrt u) - 1/2)/sqrt u on [0, 2], degree 7, and of
// Phi(-1/v) e^{1/(2v^2)}/v on v in [1/14.5, 1/sqrt 2], degree 11): relative errors 1e-11 and 1e-8.
inline VF normal_cdf_v(VF x) {
  static constexpr float central_coefficients[] = {
      -2.670169051e-8f, 6.223621893e-7f, -9.373673105e-6f, 0.0001153695936f,
      -0.001187295515f, 0.0099735489f,   -0.0664903793f,   0.3989422804f};
  static constexpr float tail_coefficients[] = {
      1.307994674e-5f,   -1.254031775e-5f, -5.160234647e-5f, 0.0001302750385f,
      -0.0001662962855f, 6.031490821e-5f,  0.0006587783342f, -0.002849934568f,
      0.006421059104f,   -0.002984718859f, -0.05423702931f,  0.3553658631f};
  VF a = abs_v(x);
  VF central = mul_add(x, polynomial(x * x, central_coefficients), constant(0.5f));
  // Beyond |x| = 15 the tail is below the smallest subnormal; clamping keeps inf out of the FMA.
  VF a_tail = min_v(constant(15.0f), max_v(constant(1.41421356f), a));
  VF v = constant(1.0f) / a_tail;
  VF w = (v - constant(0.388036149214f)) * constant(1.0f / 0.319070631973f);
  VF q = gaussian_kernel_v(a_tail) * v * polynomial(w, tail_coefficients);
  VF tail = select(less(x, constant(0.0f)), q, constant(1.0f) - q);
  return select(less(a, constant(1.41421356f)), central, tail);
}

// phi(x) = exp(-x^2/2)/sqrt(2 pi), the derivative of Phi.
inline VF normal_pdf_v(VF x) {
  VF clamped = min_v(constant(15.0f), max_v(constant(-15.0f), x));
  return gaussian_kernel_v(clamped) * constant(0.398942280401432678f);
}

// ---- f64: the same functions lane by lane through the C library.
inline double sigmoid_scalar(double x) {
  return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
}
inline double softplus_scalar(double x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
inline double normal_cdf_scalar(double x) {
  return 0.5 * std::erfc(-x * 0.70710678118654752440);
}
inline double normal_pdf_scalar(double x) {
  return std::exp(-0.5 * x * x) * 0.398942280401432678;
}

inline VD exp_v(VD x) {
  return map_lanes(x, [](double t) { return std::exp(t); });
}
inline VD log_v(VD x) {
  return map_lanes(x, [](double t) { return std::log(t); });
}
inline VD tanh_v(VD x) {
  return map_lanes(x, [](double t) { return std::tanh(t); });
}
inline VD sigmoid_v(VD x) {
  return map_lanes(x, sigmoid_scalar);
}
inline VD softplus_v(VD x) {
  return map_lanes(x, softplus_scalar);
}
inline VD normal_cdf_v(VD x) {
  return map_lanes(x, normal_cdf_scalar);
}
inline VD normal_pdf_v(VD x) {
  return map_lanes(x, normal_pdf_scalar);
}

}  // namespace tessera::kernels::TESSERA_ISA_NAMESPACE::simd
