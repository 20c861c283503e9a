#include "tessera/nn/mamba2.h"

#include <cmath>

#include "tessera/core/autograd.h"

namespace tessera::nn {

Tensor gated_group_rms_norm(const Tensor& y, const Tensor& z, const Tensor& weight,
                            int64_t group_size, double eps) {
  const int64_t width = y.size(-1);
  TESSERA_CHECK_INPUT(group_size > 0 && width % group_size == 0,
                      "gated norm: width {} is not a multiple of the group size {}", width,
                      group_size);
  check_shape(weight, {width}, "gated norm weight");
  Tensor gated = mul(y, silu(z));
  Shape grouped = gated.shape();
  grouped.back() = group_size;
  grouped.insert(grouped.end() - 1, width / group_size);
  // rms_norm normalises over the last axis: over each group once the width is split.
  Tensor unit = Tensor::ones({group_size}, y.dtype());
  Tensor normed = rms_norm(gated.reshape(grouped), unit, eps).reshape(gated.shape());
  return mul(normed, weight);
}

Mamba2Mixer Mamba2Mixer::create(const Mamba2MixerConfig& c, double std, Generator& gen) {
  TESSERA_CHECK_INPUT(c.hidden_size > 0 && c.num_heads > 0 && c.head_dim > 0 && c.state_size > 0 &&
                          c.conv_kernel > 0 && c.chunk_size > 0,
                      "mamba2: sizes must be positive");
  TESSERA_CHECK_INPUT(c.n_groups > 0 && c.num_heads % c.n_groups == 0,
                      "mamba2: num_heads {} is not a multiple of n_groups {}", c.num_heads,
                      c.n_groups);
  Mamba2Mixer m;
  m.config = c;
  m.in_proj = Linear::create(c.hidden_size, c.in_proj_size(), c.use_bias, std, gen);
  m.out_proj = Linear::create(c.inner(), c.hidden_size, c.use_bias, std, gen);
  const double bound = 1.0 / std::sqrt(static_cast<double>(c.conv_kernel));  // torch Conv1d default
  m.conv_weight = rand_uniform({c.conv_dim(), 1, c.conv_kernel}, -bound, bound, gen);
  if (c.use_conv_bias) m.conv_bias = rand_uniform({c.conv_dim()}, -bound, bound, gen);
  // dt log-uniform in [dt_min, dt_max], floored, stored as its inverse softplus.
  std::vector<float> dt_bias(c.num_heads), a_log(c.num_heads);
  for (int64_t h = 0; h < c.num_heads; ++h) {
    const double u = gen.next_double();
    double dt = std::exp(u * (std::log(c.time_step_max) - std::log(c.time_step_min)) +
                         std::log(c.time_step_min));
    dt = std::max(dt, c.time_step_floor);
    dt_bias[h] = static_cast<float>(dt + std::log(-std::expm1(-dt)));
    a_log[h] = static_cast<float>(std::log(1.0 + 15.0 * gen.next_double()));
  }
  m.dt_bias = Tensor::from_vector(dt_bias, {c.num_heads});
  m.A_log = Tensor::from_vector(a_log, {c.num_heads});
  m.D = Tensor::ones({c.num_heads});
  m.norm_weight = Tensor::ones({c.inner()});
  return m;
}

void Mamba2Mixer::parameters(const std::string& prefix, ParameterRefs& out) {
  in_proj.parameters(prefix + "in_proj.", out);
  out.emplace_back(prefix + "conv1d.weight", &conv_weight);
  if (conv_bias.defined()) out.emplace_back(prefix + "conv1d.bias", &conv_bias);
  out.emplace_back(prefix + "dt_bias", &dt_bias);
  out.emplace_back(prefix + "A_log", &A_log);
  out.emplace_back(prefix + "D", &D);
  out.emplace_back(prefix + "norm.weight", &norm_weight);
  out_proj.parameters(prefix + "out_proj.", out);
}

Mamba2LayerState Mamba2Mixer::new_state(DType dtype) const {
  return {Tensor::zeros({config.conv_kernel - 1, config.conv_dim()}, dtype),
          Tensor::zeros({config.num_heads, config.head_dim, config.state_size}, dtype)};
}

// form_hint: 0 chunked (recorded), 1 sequential. conv_prefix [B, K-1, conv_dim] continues the
// conv from cached inputs; conv_tail receives the last K-1 conv inputs for the next call.
Tensor Mamba2Mixer::mix(const Tensor& u, const Tensor* conv_prefix, const Tensor* initial_state,
                        int64_t form_hint, Tensor* conv_tail, Tensor* final_state) const {
  const Mamba2MixerConfig& c = config;
  TESSERA_CHECK_INPUT(u.dim() == 3 && u.size(2) == c.hidden_size,
                      "mamba2 mixer: input must be [batch, tokens, {}], got {}", c.hidden_size,
                      shape_str(u.shape()));
  const int64_t B = u.size(0), T = u.size(1), K = c.conv_kernel;
  const int64_t GN = c.n_groups * c.state_size;
  std::vector<Tensor> parts = split(in_proj.forward(u), {c.inner(), c.conv_dim(), c.num_heads}, -1);
  Tensor z = parts[0], xbc = parts[1], dt = parts[2];
  if (conv_prefix) xbc = concat({*conv_prefix, xbc}, 1);
  if (conv_tail) *conv_tail = xbc.narrow(1, xbc.size(1) - (K - 1), K - 1).contiguous();
  Tensor conv = silu(causal_conv1d(xbc, conv_weight.reshape({c.conv_dim(), K}), conv_bias));
  if (conv_prefix) conv = conv.narrow(1, K - 1, T);
  std::vector<Tensor> xs = split(conv, {c.inner(), GN, GN}, -1);
  dt = softplus(add(dt, dt_bias));
  if (c.time_step_limit_low > 0.0 || std::isfinite(c.time_step_limit_high))
    dt = clamp(dt, c.time_step_limit_low, c.time_step_limit_high);
  SsdInputs in;
  in.x = xs[0].reshape({B, T, c.num_heads, c.head_dim});
  in.dt = dt;
  in.A = neg(exp(A_log));
  in.B = xs[1].reshape({B, T, c.n_groups, c.state_size});
  in.C = xs[2].reshape({B, T, c.n_groups, c.state_size});
  in.D = D;
  if (initial_state) in.initial_state = *initial_state;
  SsdOutputs out =
      ssd_scan(in, form_hint == 1 ? SsdForm::sequential : SsdForm::chunked, c.chunk_size);
  if (final_state) *final_state = out.final_state;
  Tensor y = gated_group_rms_norm(out.y.reshape({B, T, c.inner()}), z, norm_weight,
                                  c.inner() / c.n_groups, c.norm_eps);
  return out_proj.forward(y);
}

Tensor Mamba2Mixer::forward(const Tensor& u) const {
  return mix(u, nullptr, nullptr, 0, nullptr, nullptr);
}

Tensor Mamba2Mixer::forward_step(const Tensor& u,
                                 const std::vector<Mamba2LayerState*>& states) const {
  NoGrad no_grad;
  const int64_t B = u.size(0);
  TESSERA_CHECK(static_cast<int64_t>(states.size()) == B, "mamba2 mixer: {} states for batch {}",
                states.size(), B);
  std::vector<Tensor> convs, ssms;
  for (Mamba2LayerState* s : states) {
    convs.push_back(s->conv.unsqueeze(0));
    ssms.push_back(s->ssm.unsqueeze(0));
  }
  Tensor conv_prefix = concat(convs, 0).to(u.dtype()), initial = concat(ssms, 0).to(u.dtype());
  Tensor conv_tail, final_state;
  Tensor out = mix(u, &conv_prefix, &initial, u.size(1) == 1 ? 1 : 0, &conv_tail, &final_state);
  for (int64_t b = 0; b < B; ++b) {
    states[b]->conv = conv_tail.select(0, b).contiguous();
    states[b]->ssm = final_state.select(0, b).contiguous();
  }
  return out;
}

}  // namespace tessera::nn
