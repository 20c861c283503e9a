#pragma once
// The Mamba-2 mixer (Dao & Gu 2024, section 7 and mamba_ssm's modules/mamba2.py):
//   in_proj(u) -> [z, xBC, dt];  xBC = silu(depthwise causal conv1d(xBC) + bias) -> [x, B, C]
//   dt = clamp(softplus(dt + dt_bias), limits);  A = -exp(A_log)
//   y = SSD(x, dt, A, B, C) + D x                       (nn/mamba2_ssd.h)
//   y = RMSNorm_grouped(y * silu(z)) * norm.weight       (normalised within each of the n_groups
//                                                         groups, as mamba_ssm's RMSNormGated)
//   out = out_proj(y)
// Parameters carry the upstream names (in_proj, conv1d, dt_bias, A_log, D, norm, out_proj).
#include <limits>
#include <vector>

#include "tessera/nn/layers.h"
#include "tessera/nn/mamba2_ssd.h"

namespace tessera::nn {

struct Mamba2MixerConfig {
  int64_t hidden_size = 768;
  int64_t num_heads = 24;
  int64_t head_dim = 64;
  int64_t state_size = 128;
  int64_t n_groups = 1;
  int64_t conv_kernel = 4;
  int64_t chunk_size = 256;
  bool use_bias = false;
  bool use_conv_bias = true;
  double norm_eps = 1e-5;
  double time_step_min = 0.001, time_step_max = 0.1, time_step_floor = 1e-4;
  double time_step_limit_low = 0.0, time_step_limit_high = std::numeric_limits<double>::infinity();
  int64_t inner() const { return num_heads * head_dim; }
  int64_t conv_dim() const { return inner() + 2 * n_groups * state_size; }
  int64_t in_proj_size() const { return 2 * inner() + 2 * n_groups * state_size + num_heads; }
};

// y * silu(z), RMS-normalised within each group of `group_size` channels, times weight.
// y, z [.., width], weight [width]; differentiable (composed of recorded ops).
Tensor gated_group_rms_norm(const Tensor& y, const Tensor& z, const Tensor& weight,
                            int64_t group_size, double eps);

// Per-sequence decoding state of one mixer: the last conv_kernel - 1 inputs of the conv and the
// SSM state.
struct Mamba2LayerState {
  Tensor conv;  // [conv_kernel - 1, conv_dim]
  Tensor ssm;   // [heads, head_dim, state]
};

struct Mamba2Mixer {
  Mamba2MixerConfig config;
  Linear in_proj, out_proj;
  Tensor conv_weight;        // [conv_dim, 1, conv_kernel] as torch's Conv1d
  Tensor conv_bias;          // [conv_dim] or undefined
  Tensor dt_bias, A_log, D;  // [heads]
  Tensor norm_weight;        // [inner]

  // Initialised as mamba_ssm does: dt from log-uniform [dt_min, dt_max] through inverse
  // softplus, A uniform in [1, 16], D ones, norm ones.
  static Mamba2Mixer create(const Mamba2MixerConfig& config, double std, Generator& gen);
  // u [B, T, hidden] -> [B, T, hidden]; training and scoring (chunked SSD, recorded).
  Tensor forward(const Tensor& u) const;
  // Continues each sequence from its state (advanced by T): prefill with the chunked form,
  // single tokens with the recurrence. Not recorded.
  Tensor forward_step(const Tensor& u, const std::vector<Mamba2LayerState*>& states) const;
  Mamba2LayerState new_state(DType dtype = DType::f32) const;
  void parameters(const std::string& prefix, ParameterRefs& out);

 private:
  Tensor mix(const Tensor& u, const Tensor* conv_prefix, const Tensor* initial_state,
             int64_t form_hint, Tensor* conv_tail, Tensor* final_state) const;
};

}  // namespace tessera::nn
