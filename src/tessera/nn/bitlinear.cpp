#include "tessera/nn/bitlinear.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tessera/core/autograd.h"
#include "tessera/core/parallel.h"
#include "tessera/kernels/cpu/ternary.h"

namespace tessera::nn {

TernaryPacking parse_ternary_packing(const std::string& name) {
  if (name == "2bit") return TernaryPacking::two_bit;
  if (name == "base3") return TernaryPacking::base3;
  throw bad_input("unknown ternary packing \"{}\" (known: 2bit, base3)", name);
}

const char* ternary_packing_name(TernaryPacking packing) {
  switch (packing) {
    case TernaryPacking::two_bit:
      return "2bit";
    case TernaryPacking::base3:
      return "base3";
    default:
      return "none";
  }
}

Tensor straight_through(const Tensor& x, const Tensor& quantized) {
  Tensor out = quantized.detach();
  if (should_record({&x})) {
    record(out, "straight_through", {x}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  }
  return out;
}

namespace {
template <typename Fn>
decltype(auto) dispatch_float(DType dtype, const char* op, Fn&& fn) {
  if (dtype == DType::f32) return fn.template operator()<float>();
  if (dtype == DType::f64) return fn.template operator()<double>();
  throw runtime_error("{}: needs an f32 or f64 tensor, got {}", op, dtype_name(dtype));
}
}  // namespace

// round() with ties away from zero, written so the compiler vectorises it (std::round is a
// libm call per element); exact: v - trunc(v) has no rounding error.
template <typename T>
inline T round_half_away(T v) {
  const T whole = std::trunc(v);
  const T bump = static_cast<T>(std::abs(v - whole) >= T(0.5));  // 0 or 1, no branch
  return whole + std::copysign(bump, v);
}

Tensor absmax_quantize_activations(const Tensor& x) {
  Tensor xc = x.detach().contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  const int64_t cols = x.dim() > 0 ? x.size(-1) : 1;
  const int64_t rows = cols > 0 ? x.numel() / cols : 0;
  dispatch_float(x.dtype(), "absmax_quantize_activations", [&]<typename T>() {
    const T* in = xc.data<T>();
    T* o = out.data<T>();
    parallel_for(
        0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)),
        [&](int64_t lo, int64_t hi) {
          for (int64_t r = lo; r < hi; ++r) {
            const T* row = in + r * cols;
            T* dst = o + r * cols;
            T max_abs = 0;
            for (int64_t k = 0; k < cols; ++k) max_abs = std::max(max_abs, std::abs(row[k]));
            const T scale = T(127) / std::max(max_abs, T(1e-5));
            for (int64_t k = 0; k < cols; ++k) {
              dst[k] = std::min(std::max(round_half_away(row[k] * scale), T(-128)), T(127)) / scale;
            }
          }
        });
  });
  return out;
}

Tensor absmean_quantize_weight(const Tensor& w) {
  Tensor wc = w.detach().contiguous();
  Tensor out = Tensor::empty(w.shape(), w.dtype());
  dispatch_float(w.dtype(), "absmean_quantize_weight", [&]<typename T>() {
    const T* in = wc.data<T>();
    T* o = out.data<T>();
    const int64_t n = w.numel();
    double total = 0;
    for (int64_t i = 0; i < n; ++i) total += std::abs(static_cast<double>(in[i]));
    const T mean_abs = n > 0 ? static_cast<T>(total / static_cast<double>(n)) : T(0);
    const T scale = T(1) / std::max(mean_abs, T(1e-5));
    for (int64_t i = 0; i < n; ++i) {
      o[i] = std::clamp(std::nearbyint(in[i] * scale), T(-1), T(1)) / scale;
    }
  });
  return out;
}

BitLinear BitLinear::create(int64_t in, int64_t out, double std, Generator& gen) {
  BitLinear l;
  l.in_features = in;
  l.out_features = out;
  l.norm_weight = Tensor::ones({in});
  l.weight = rand_normal({out, in}, 0.0, std, gen);
  return l;
}

namespace {
int64_t packed_row_bytes(TernaryPacking packing, int64_t in) {
  return packing == TernaryPacking::two_bit ? kernels::ternary2_row_bytes(in)
                                            : kernels::ternary3_row_bytes(in);
}
}  // namespace

BitLinear BitLinear::create_packed(int64_t in, int64_t out, TernaryPacking packing) {
  TESSERA_CHECK(packing != TernaryPacking::none, "create_packed: a packing is required");
  BitLinear l;
  l.in_features = in;
  l.out_features = out;
  l.packing = packing;
  l.norm_weight = Tensor::ones({in});
  l.weight_packed = Tensor::zeros({out, packed_row_bytes(packing, in)}, DType::u8);
  l.weight_scale = Tensor::ones({1});
  return l;
}

std::pair<std::vector<int8_t>, float> BitLinear::ternary_weights() const {
  std::vector<int8_t> trits(static_cast<size_t>(out_features * in_features));
  if (packing == TernaryPacking::none) {
    Tensor w = weight.detach().to(DType::f32).contiguous();
    float factor = kernels::ternarize_absmean(w.data<float>(), w.numel(), trits.data());
    return {std::move(trits), factor};
  }
  Tensor p = weight_packed.contiguous();
  if (packing == TernaryPacking::two_bit) {
    kernels::unpack_ternary2(p.data<uint8_t>(), out_features, in_features, trits.data());
  } else {
    kernels::unpack_ternary3(p.data<uint8_t>(), out_features, in_features, trits.data());
  }
  return {std::move(trits), weight_scale.item<float>()};
}

BitLinear BitLinear::packed(TernaryPacking target) const {
  BitLinear out = create_packed(in_features, out_features, target);
  out.eps = eps;
  out.norm_weight = norm_weight.detach().to(DType::f32).contiguous().clone();
  // Already packed weights keep their stored scale: re-running absmean on ternary values would
  // shrink it (mean |t * s| = s * fraction of non-zeros), the export bug this avoids.
  auto [trits, factor] = ternary_weights();
  uint8_t* dst = out.weight_packed.data<uint8_t>();
  if (target == TernaryPacking::two_bit) {
    kernels::pack_ternary2(trits.data(), out_features, in_features, dst);
  } else {
    kernels::pack_ternary3(trits.data(), out_features, in_features, dst);
  }
  out.weight_scale.data<float>()[0] = factor;
  return out;
}

Tensor BitLinear::forward(const Tensor& x) const {
  TESSERA_CHECK(x.dim() >= 1 && x.size(-1) == in_features,
                "BitLinear: input's last axis must be {}, got {}", in_features,
                shape_str(x.shape()));
  if (packing != TernaryPacking::none) return forward_packed(x);
  Tensor normed = rms_norm(x, norm_weight, eps);
  Tensor xq = straight_through(normed, absmax_quantize_activations(normed));
  Tensor wq;
  if (!weight.requires_grad() && !grad_mode_enabled()) {
    if (!cached_source_.same(weight) || cached_quantized_.dtype() != weight.dtype()) {
      cached_quantized_ = absmean_quantize_weight(weight);
      cached_source_ = weight;
    }
    wq = cached_quantized_;
  } else {
    wq = straight_through(weight, absmean_quantize_weight(weight));
  }
  return linear(xq, wq);
}

void BitLinear::check_packed() const {
  check_shape(
      weight_packed,
      {out_features, packing == TernaryPacking::two_bit ? kernels::ternary2_row_bytes(in_features)
                                                        : kernels::ternary3_row_bytes(in_features)},
      weight_packed.name().empty() ? "BitLinear weight_packed" : weight_packed.name());
  TESSERA_CHECK_INPUT(weight_packed.dtype() == DType::u8, "{}: packed weights must be u8, got {}",
                      weight_packed.name(), dtype_name(weight_packed.dtype()));
  Tensor p = weight_packed.contiguous();
  const bool valid = packing == TernaryPacking::two_bit
                         ? kernels::ternary2_codes_valid(p.data<uint8_t>(), p.numel())
                         : kernels::ternary3_codes_valid(p.data<uint8_t>(), p.numel());
  TESSERA_CHECK_INPUT(valid, "{}: holds codes outside the {} ternary packing", weight_packed.name(),
                      ternary_packing_name(packing));
  const float factor = weight_scale.numel() == 1 ? weight_scale.item<float>() : -1.0f;
  TESSERA_CHECK_INPUT(std::isfinite(factor) && factor > 0.0f,
                      "{}: weight_scale must be one positive finite number", weight_scale.name());
}

Tensor BitLinear::forward_packed(const Tensor& x) const {
  NoGrad no_grad;
  // Files are checked once per tensor (not per token): a bad code would otherwise be read
  // differently by the two ISAs.
  if (!checked_packed_.same(weight_packed)) {
    check_packed();
    checked_packed_ = weight_packed;
  }
  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  const int64_t rows = in_features > 0 ? x.numel() / in_features : 0;
  Tensor normed =
      rms_norm(x.to(DType::f32).reshape({rows, in_features}), norm_weight, eps).contiguous();
  const bool two_bit = packing == TernaryPacking::two_bit;
  const int64_t ld = two_bit ? kernels::ternary2_padded_cols(in_features) : in_features;
  std::vector<int8_t> q(static_cast<size_t>(rows * ld));
  std::vector<float> scales(static_cast<size_t>(rows));
  kernels::quantize_rows_absmax(normed.data<float>(), rows, in_features, q.data(), ld,
                                scales.data());
  std::vector<int32_t> acc(static_cast<size_t>(rows * out_features));
  Tensor packed_c = weight_packed.contiguous();
  if (two_bit) {
    kernels::ternary2_gemm(packed_c.data<uint8_t>(), out_features, in_features, q.data(), rows,
                           acc.data());
  } else {
    kernels::ternary3_gemm(packed_c.data<uint8_t>(), out_features, in_features, q.data(), rows,
                           acc.data());
  }
  Tensor out = Tensor::empty({rows, out_features});
  float* po = out.data<float>();
  const float factor = weight_scale.item<float>();
  for (int64_t n = 0; n < rows; ++n) {
    // (q / s_x) . (t * factor): the integer sum is exact, one rescale per output.
    const float rescale = factor / scales[n];
    for (int64_t r = 0; r < out_features; ++r) {
      po[n * out_features + r] = static_cast<float>(acc[n * out_features + r]) * rescale;
    }
  }
  return out.reshape(out_shape);
}

void BitLinear::parameters(const std::string& prefix, ParameterRefs& out) {
  if (packing == TernaryPacking::none) {
    out.emplace_back(prefix + "weight", &weight);
  } else {
    out.emplace_back(prefix + "weight_packed", &weight_packed);
    out.emplace_back(prefix + "weight_scale", &weight_scale);
  }
  out.emplace_back(prefix + "norm.weight", &norm_weight);
}

}  // namespace tessera::nn
