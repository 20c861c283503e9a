#include "tessera/core/rng.h"

#include <cmath>
#include <numbers>

#include "tessera/core/parallel.h"

namespace tessera {

std::array<uint32_t, 4> philox4x32(uint64_t counter_lo, uint64_t counter_hi, uint64_t key) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(counter_lo), c1 = static_cast<uint32_t>(counter_lo >> 32);
  uint32_t c2 = static_cast<uint32_t>(counter_hi), c3 = static_cast<uint32_t>(counter_hi >> 32);
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(kMul0) * c0;
    uint64_t p1 = static_cast<uint64_t>(kMul1) * c2;
    uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    uint32_t n1 = static_cast<uint32_t>(p1);
    uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    uint32_t n3 = static_cast<uint32_t>(p0);
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return {c0, c1, c2, c3};
}

namespace {

// Streams keep uniform and normal draws from sharing counters by accident.
constexpr uint64_t kUniformStream = 1, kNormalStream = 2, kScalarStream = 3;

inline double to_unit(uint32_t hi, uint32_t lo) {  // 53 random bits in [0, 1)
  uint64_t bits = (static_cast<uint64_t>(hi) << 21) ^ (lo >> 11);
  return static_cast<double>(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

template <typename T>
void fill_uniform_impl(uint64_t seed, uint64_t start, T* out, int64_t n, T low, T high) {
  parallel_for(0, n, 1 << 14, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      auto w = philox4x32(start + static_cast<uint64_t>(i), kUniformStream, seed);
      T u = static_cast<T>(to_unit(w[0], w[1]));
      T v = low + (high - low) * u;
      out[i] = v < high ? v : low;  // rounding must not reach `high`
    }
  });
}

template <typename T>
void fill_normal_impl(uint64_t seed, uint64_t start, T* out, int64_t n, T mean, T stddev) {
  parallel_for(0, n, 1 << 14, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      auto w = philox4x32(start + static_cast<uint64_t>(i), kNormalStream, seed);
      double u1 = 1.0 - to_unit(w[0], w[1]);  // (0, 1]: log is finite
      double u2 = to_unit(w[2], w[3]);
      double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
      out[i] = static_cast<T>(mean + stddev * z);
    }
  });
}

}  // namespace

void Generator::fill_uniform(float* out, int64_t n, float low, float high) {
  fill_uniform_impl(seed_, take(n), out, n, low, high);
}
void Generator::fill_uniform(double* out, int64_t n, double low, double high) {
  fill_uniform_impl(seed_, take(n), out, n, low, high);
}
void Generator::fill_normal(float* out, int64_t n, float mean, float stddev) {
  fill_normal_impl(seed_, take(n), out, n, mean, stddev);
}
void Generator::fill_normal(double* out, int64_t n, double mean, double stddev) {
  fill_normal_impl(seed_, take(n), out, n, mean, stddev);
}

uint64_t Generator::next_u64() {
  auto w = philox4x32(take(1), kScalarStream, seed_);
  return (static_cast<uint64_t>(w[0]) << 32) | w[1];
}

double Generator::next_double() {
  auto w = philox4x32(take(1), kScalarStream, seed_);
  return to_unit(w[0], w[1]);
}

int64_t Generator::randint(int64_t low, int64_t high) {
  TESSERA_CHECK(high > low, "randint: empty range [{}, {})", low, high);
  uint64_t range = static_cast<uint64_t>(high - low);
  // Rejection sampling removes modulo bias.
  uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  uint64_t r;
  do {
    r = next_u64();
  } while (r >= limit);
  return low + static_cast<int64_t>(r % range);
}

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

Tensor rand_uniform(const Shape& shape, double low, double high, Generator& gen, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  if (dtype == DType::f32) {
    gen.fill_uniform(t.data<float>(), t.numel(), static_cast<float>(low), static_cast<float>(high));
  } else if (dtype == DType::f64) {
    gen.fill_uniform(t.data<double>(), t.numel(), low, high);
  } else {
    throw runtime_error("rand_uniform: dtype {} is not f32 or f64", dtype_name(dtype));
  }
  return t;
}

Tensor rand_normal(const Shape& shape, double mean, double stddev, Generator& gen, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  if (dtype == DType::f32) {
    gen.fill_normal(t.data<float>(), t.numel(), static_cast<float>(mean),
                    static_cast<float>(stddev));
  } else if (dtype == DType::f64) {
    gen.fill_normal(t.data<double>(), t.numel(), mean, stddev);
  } else {
    throw runtime_error("rand_normal: dtype {} is not f32 or f64", dtype_name(dtype));
  }
  return t;
}

Tensor bernoulli(const Shape& shape, double p, Generator& gen, DType dtype) {
  Tensor u = rand_uniform(shape, 0.0, 1.0, gen, DType::f64);
  Tensor out = Tensor::empty(shape, dtype);
  const double* src = u.data<double>();
  int64_t n = out.numel();
  if (dtype == DType::f32) {
    float* dst = out.data<float>();
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i] < p ? 1.0f : 0.0f;
  } else if (dtype == DType::f64) {
    double* dst = out.data<double>();
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i] < p ? 1.0 : 0.0;
  } else {
    throw runtime_error("bernoulli: dtype {} is not f32 or f64", dtype_name(dtype));
  }
  return out;
}

Tensor randint(const Shape& shape, int64_t low, int64_t high, Generator& gen) {
  Tensor out = Tensor::empty(shape, DType::i64);
  int64_t* dst = out.data<int64_t>();
  for (int64_t i = 0; i < out.numel(); ++i) dst[i] = gen.randint(low, high);
  return out;
}

}  // namespace tessera
