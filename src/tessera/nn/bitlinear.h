#pragma once
// BitLinear as released with HGRN-Bit (mmfreelm/ops/fusedbitnet.py, FusedBitLinear): the
// layer's own RMSNorm (learnable weight; eps 1e-6, the value the fused kernel really runs with,
// although its RMSNorm module declares 1e-8), per-token absmax 8-bit activations, per-tensor
// absmean ternary weights {-1, 0, +1} * scale, and the straight-through estimator for both
// quantizers in training.
//
// Two forms share one forward():
// - latent: `weight` [out, in] holds the full-precision weights (training, released
//   checkpoints); the quantizers run on the fly ("simulated quantization").
// - packed: `weight_packed` (2-bit or base-3, kernels/cpu/ternary.h) and `weight_scale` (the
//   stored dequantization factor: never recomputed, so a re-export cannot shrink it); the
//   product is the multiplication-free integer kernel. Inference only.
#include <string>

#include "tessera/core/rng.h"
#include "tessera/nn/layers.h"

namespace tessera::nn {

enum class TernaryPacking { none, two_bit, base3 };
// "2bit" / "base3"; BadInput naming the value otherwise.
TernaryPacking parse_ternary_packing(const std::string& name);
const char* ternary_packing_name(TernaryPacking packing);

// Straight-through estimator: the value of `quantized`, the gradient of the identity to `x`.
Tensor straight_through(const Tensor& x, const Tensor& quantized);
// round(x * s) / s with s = 127 / max(max|x|, 1e-5) per row of the last axis (f32 or f64).
Tensor absmax_quantize_activations(const Tensor& x);
// round(w * s) clamped to [-1, 1], divided by s, s = 1 / max(mean|w|, 1e-5) (f32 or f64).
Tensor absmean_quantize_weight(const Tensor& w);

struct BitLinear {
  int64_t in_features = 0, out_features = 0;
  double eps = 1e-6;
  Tensor norm_weight;  // [in], checkpoint name "<prefix>norm.weight"
  Tensor weight;       // [out, in], latent form only
  TernaryPacking packing = TernaryPacking::none;
  Tensor weight_packed;  // u8 [out, row bytes], packed form only
  Tensor weight_scale;   // f32 [1]: w ~= trit * weight_scale, packed form only

  // Latent weights ~ N(0, std), norm weight ones.
  static BitLinear create(int64_t in, int64_t out, double std, Generator& gen);
  // Empty packed slots of the right shapes (filled by load_model).
  static BitLinear create_packed(int64_t in, int64_t out, TernaryPacking packing);

  // x [.., in] -> [.., out]. Latent form: differentiable (STE). Packed form: not recorded.
  Tensor forward(const Tensor& x) const;
  // The latent weights' ternary form, packed, with the scale computed once (quantize export).
  BitLinear packed(TernaryPacking packing) const;
  // Trits [out, in] and the dequantization factor of the latent or packed weights.
  std::pair<std::vector<int8_t>, float> ternary_weights() const;

  void parameters(const std::string& prefix, ParameterRefs& out);

 private:
  Tensor forward_packed(const Tensor& x) const;
  void check_packed() const;
  mutable Tensor checked_packed_;
  // Inference on latent weights that do not require grad reuses their quantized copy.
  mutable Tensor cached_source_, cached_quantized_;
};

}  // namespace tessera::nn
