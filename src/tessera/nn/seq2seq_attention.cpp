#include "tessera/nn/seq2seq_attention.h"

#include <cmath>

namespace tessera::nn {

Activation parse_activation(const std::string& name) {
  if (name == "relu") return Activation::relu;
  if (name == "gelu") return Activation::gelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::gelu_tanh;
  if (name == "silu" || name == "swish") return Activation::silu;
  throw bad_input(
      "config.json: activation_function \"{}\" is not supported (relu, gelu, gelu_new, silu)",
      name);
}

std::string activation_name(Activation activation) {
  switch (activation) {
    case Activation::relu:
      return "relu";
    case Activation::gelu:
      return "gelu";
    case Activation::gelu_tanh:
      return "gelu_new";
    case Activation::silu:
      return "silu";
  }
  return "relu";
}

Tensor activate(const Tensor& x, Activation activation) {
  switch (activation) {
    case Activation::relu:
      return relu(x);
    case Activation::gelu:
      return gelu(x);
    case Activation::gelu_tanh:
      return gelu(x, GeluApproximation::tanh);
    case Activation::silu:
      return silu(x);
  }
  return x;
}

Tensor sinusoidal_position_table(int64_t rows, int64_t dim, int64_t padding_idx, DType dtype) {
  TESSERA_CHECK(dim >= 4, "sinusoidal positions need dim >= 4, got {}", dim);
  const int64_t half = dim / 2;
  const double step = std::log(10000.0) / static_cast<double>(half - 1);
  Tensor table = Tensor::zeros({rows, dim}, DType::f64);
  double* p = table.data<double>();
  for (int64_t r = 0; r < rows; ++r) {
    if (r == padding_idx) continue;
    for (int64_t i = 0; i < half; ++i) {
      double angle = static_cast<double>(r) * std::exp(-static_cast<double>(i) * step);
      p[r * dim + i] = std::sin(angle);
      p[r * dim + half + i] = std::cos(angle);
    }
  }
  return table.to(dtype);
}

Tensor positions_from_ids(const Tensor& ids, int64_t padding_idx, int64_t past) {
  TESSERA_CHECK(ids.dim() == 2, "positions_from_ids: ids must be [B, T]");
  const int64_t B = ids.size(0), T = ids.size(1);
  std::vector<int64_t> v = ids.to_vector<int64_t>(), out(v.size());
  for (int64_t b = 0; b < B; ++b) {
    int64_t count = 0;
    for (int64_t t = 0; t < T; ++t) {
      int64_t i = b * T + t;
      if (v[i] == padding_idx) {
        out[i] = padding_idx;
      } else {
        ++count;
        out[i] = padding_idx + past + count;
      }
    }
  }
  return Tensor::from_vector(out, {B, T});
}

Tensor key_padding_bias(const Tensor& ids, int64_t padding_idx, DType dtype) {
  const int64_t B = ids.size(0), S = ids.size(1);
  std::vector<int64_t> v = ids.to_vector<int64_t>();
  bool any = false;
  std::vector<double> bias(v.size(), 0.0);
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == padding_idx) {
      bias[i] = -1e9;
      any = true;
    }
  }
  if (!any) return Tensor();
  return Tensor::from_vector(bias, {B, 1, 1, S}).to(dtype);
}

MultiHeadAttention MultiHeadAttention::create(int64_t dim, int64_t heads, double std,
                                              Generator& gen) {
  TESSERA_CHECK_INPUT(heads > 0 && dim % heads == 0,
                      "config.json: d_model {} is not divisible by {} attention heads", dim, heads);
  MultiHeadAttention a;
  a.k_proj = QuantizableLinear::create(dim, dim, true, std, gen);
  a.v_proj = QuantizableLinear::create(dim, dim, true, std, gen);
  a.q_proj = QuantizableLinear::create(dim, dim, true, std, gen);
  a.out_proj = QuantizableLinear::create(dim, dim, true, std, gen);
  a.num_heads = heads;
  a.head_dim = dim / heads;
  return a;
}

std::pair<Tensor, Tensor> MultiHeadAttention::project_kv(const Tensor& memory) const {
  const int64_t B = memory.size(0), S = memory.size(1);
  return {k_proj.forward(memory).reshape({B, S, num_heads, head_dim}),
          v_proj.forward(memory).reshape({B, S, num_heads, head_dim})};
}

Tensor MultiHeadAttention::forward(const Tensor& x, const Tensor& memory, const Tensor& key_bias,
                                   bool causal, double attention_dropout, Generator* gen) const {
  const int64_t B = x.size(0), T = x.size(1), S = memory.size(1), C = num_heads * head_dim;
  Tensor q = q_proj.forward(x).reshape({B, T, num_heads, head_dim});
  auto [k, v] = project_kv(memory);
  Tensor out;
  TESSERA_CHECK(attention_dropout <= 0 || gen != nullptr,
                "attention dropout needs a generator");
  if (!key_bias.defined() && attention_dropout <= 0) {
    out = attention(q, k, v, causal);  // fused kernel: no padded keys to hide, nothing dropped
  } else {
    // scores = q k^T / sqrt(D) + bias, written with differentiable ops.
    Tensor qh = q.permute({0, 2, 1, 3});  // [B, H, T, D]
    Tensor kt = k.permute({0, 2, 3, 1});  // [B, H, D, S]
    Tensor vh = v.permute({0, 2, 1, 3});  // [B, H, S, D]
    Tensor scores = mul(matmul(qh, kt), 1.0 / std::sqrt(static_cast<double>(head_dim)));
    if (key_bias.defined()) scores = add(scores, key_bias);
    if (causal) {
      std::vector<double> mask(T * S, 0.0);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t s = t + 1 + (S - T); s < S; ++s) mask[t * S + s] = -1e9;
      scores = add(scores, Tensor::from_vector(mask, {T, S}).to(scores.dtype()));
    }
    Tensor probs = softmax(scores, -1);
    if (attention_dropout > 0) probs = dropout(probs, attention_dropout, *gen);
    out = matmul(probs, vh).permute({0, 2, 1, 3});  // [B, T, H, D]
  }
  return out_proj.forward(out.reshape({B, T, C}));
}

Tensor MultiHeadAttention::attend(const Tensor& x,
                                  const std::vector<std::pair<Tensor, Tensor>>& kv) const {
  const int64_t B = x.size(0), C = num_heads * head_dim;
  TESSERA_CHECK(static_cast<int64_t>(kv.size()) == B, "attend: {} memories for batch {}", kv.size(),
                B);
  Tensor q = q_proj.forward(x).reshape({B, 1, num_heads, head_dim});
  std::vector<Tensor> rows;
  rows.reserve(B);
  for (int64_t b = 0; b < B; ++b)
    rows.push_back(attention(q.narrow(0, b, 1), kv[b].first, kv[b].second, false));
  Tensor out = B == 1 ? rows[0] : concat(rows, 0);
  return out_proj.forward(out.reshape({B, 1, C}));
}

Tensor MultiHeadAttention::attend_self(const Tensor& x,
                                       const std::vector<LayerKVCache*>& caches) const {
  const int64_t B = x.size(0), C = num_heads * head_dim;
  TESSERA_CHECK(static_cast<int64_t>(caches.size()) == B, "attend_self: {} caches for batch {}",
                caches.size(), B);
  Tensor q = q_proj.forward(x).reshape({B, 1, num_heads, head_dim});
  auto [k, v] = project_kv(x);
  std::vector<Tensor> rows;
  rows.reserve(B);
  for (int64_t b = 0; b < B; ++b) {
    caches[b]->append(k.narrow(0, b, 1), v.narrow(0, b, 1));
    rows.push_back(attention(q.narrow(0, b, 1), caches[b]->keys(), caches[b]->values(), false));
  }
  Tensor out = B == 1 ? rows[0] : concat(rows, 0);
  return out_proj.forward(out.reshape({B, 1, C}));
}

void MultiHeadAttention::parameters(const std::string& prefix, ParameterRefs& out) {
  k_proj.parameters(prefix + "k_proj.", out);
  v_proj.parameters(prefix + "v_proj.", out);
  q_proj.parameters(prefix + "q_proj.", out);
  out_proj.parameters(prefix + "out_proj.", out);
}

void MultiHeadAttention::quantize_int8() {
  for (QuantizableLinear* l : {&q_proj, &k_proj, &v_proj, &out_proj}) l->quantize();
}

Tensor dropout(const Tensor& x, double p, Generator& gen) {
  if (p <= 0.0) return x;
  Tensor keep = bernoulli(x.shape(), 1.0 - p, gen, x.dtype());
  return mul(x, mul(keep, 1.0 / (1.0 - p)));
}

}  // namespace tessera::nn
