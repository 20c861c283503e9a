#include "tessera/nn/attention.h"

#include <cmath>
#include <numbers>

#include "tessera/core/autograd.h"

namespace tessera::nn {

Tensor rope_inverse_frequencies(int64_t head_dim, const RopeConfig& c) {
  TESSERA_CHECK_INPUT(head_dim > 0 && head_dim % 2 == 0, "rope: head dim {} must be even", head_dim);
  const int64_t half = head_dim / 2;
  std::vector<double> inv(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    inv[i] = 1.0 / std::pow(c.theta, static_cast<double>(2 * i) / static_cast<double>(head_dim));
  }
  if (c.scaling_type == "linear") {
    for (double& f : inv) f /= c.factor;
  } else if (c.scaling_type == "llama3") {
    const double old_len = static_cast<double>(c.original_max_positions);
    const double low_wavelen = old_len / c.low_freq_factor;
    const double high_wavelen = old_len / c.high_freq_factor;
    for (double& f : inv) {
      const double wavelen = 2.0 * std::numbers::pi / f;
      if (wavelen > low_wavelen) {
        f /= c.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth =
            (old_len / wavelen - c.low_freq_factor) / (c.high_freq_factor - c.low_freq_factor);
        f = (1.0 - smooth) * f / c.factor + smooth * f;
      }
    }
  } else {
    TESSERA_CHECK_INPUT(c.scaling_type.empty() || c.scaling_type == "default",
                        "rope_scaling type '{}' is not supported (default, linear, llama3 are)",
                        c.scaling_type);
  }
  return Tensor::from_vector(inv, {half});
}

void LayerKVCache::append(const Tensor& k_new, const Tensor& v_new) {
  const int64_t t = k_new.size(1);
  if (!k.defined() || length + t > k.size(1)) {
    int64_t capacity = std::max<int64_t>(k.defined() ? 2 * k.size(1) : 64, length + t);
    Shape shape = {1, capacity, k_new.size(2), k_new.size(3)};
    Tensor k2 = Tensor::zeros(shape, k_new.dtype()), v2 = Tensor::zeros(shape, v_new.dtype());
    if (length > 0) {
      k2.narrow(1, 0, length).copy_(keys());
      v2.narrow(1, 0, length).copy_(values());
    }
    k = k2;
    v = v2;
  }
  k.narrow(1, length, t).copy_(k_new);
  v.narrow(1, length, t).copy_(v_new);
  length += t;
}

CausalSelfAttention CausalSelfAttention::create(int64_t dim, int64_t heads, int64_t kv_heads,
                                                int64_t head_dim, bool bias, double std,
                                                Generator& gen) {
  CausalSelfAttention a;
  a.q_proj = Linear::create(dim, heads * head_dim, bias, std, gen);
  a.k_proj = Linear::create(dim, kv_heads * head_dim, bias, std, gen);
  a.v_proj = Linear::create(dim, kv_heads * head_dim, bias, std, gen);
  a.o_proj = Linear::create(heads * head_dim, dim, false, std, gen);
  a.num_heads = heads;
  a.num_kv_heads = kv_heads;
  a.head_dim = head_dim;
  return a;
}

Tensor CausalSelfAttention::forward(const Tensor& x, const Tensor& positions, const Tensor& cos,
                                    const Tensor& sin,
                                    const std::vector<LayerKVCache*>* caches) const {
  const int64_t B = x.size(0), T = x.size(1);
  Tensor q = q_proj.forward(x).view({B, T, num_heads, head_dim});
  Tensor k = k_proj.forward(x).view({B, T, num_kv_heads, head_dim});
  Tensor v = v_proj.forward(x).view({B, T, num_kv_heads, head_dim});
  q = rope(q, cos, sin, positions);
  k = rope(k, cos, sin, positions);
  Tensor out;
  if (caches == nullptr) {
    out = attention(q, k, v, /*causal=*/true);
  } else {
    TESSERA_CHECK(static_cast<int64_t>(caches->size()) == B, "attention: {} caches for batch {}",
                  caches->size(), B);
    std::vector<Tensor> rows;
    for (int64_t b = 0; b < B; ++b) {
      LayerKVCache* cache = (*caches)[b];
      {
        NoGrad no_grad;  // the cache holds values, not history
        cache->append(k.narrow(0, b, 1), v.narrow(0, b, 1));
      }
      rows.push_back(attention(q.narrow(0, b, 1), cache->keys(), cache->values(), true));
    }
    out = B == 1 ? rows[0] : concat(rows, 0);
  }
  return o_proj.forward(out.reshape({B, T, num_heads * head_dim}));
}

void CausalSelfAttention::parameters(const std::string& prefix, ParameterRefs& out) {
  q_proj.parameters(prefix + "q_proj.", out);
  k_proj.parameters(prefix + "k_proj.", out);
  v_proj.parameters(prefix + "v_proj.", out);
  o_proj.parameters(prefix + "o_proj.", out);
}

}  // namespace tessera::nn
