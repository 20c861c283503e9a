#pragma once
// Causal self-attention with rotary positions and grouped-query heads (Llama family), and the
// per-sequence key/value cache used when decoding.
#include <string>
#include <vector>

#include "tessera/nn/layers.h"

namespace tessera::nn {

// Rotary embedding frequencies as Hugging Face's rope_scaling describes them.
struct RopeConfig {
  double theta = 10000.0;
  std::string scaling_type;  // "", "default", "linear" or "llama3"
  double factor = 1.0;
  double low_freq_factor = 1.0;   // llama3
  double high_freq_factor = 4.0;  // llama3
  int64_t original_max_positions = 8192;  // llama3
};

// inv_freq[i] = theta^(-2i/D), then rescaled: "linear" divides by factor; "llama3" divides
// long wavelengths by factor, keeps short ones, and interpolates between (Llama 3.1).
Tensor rope_inverse_frequencies(int64_t head_dim, const RopeConfig& config);

// Keys and values of one layer for one sequence, [1, capacity, Hkv, D], grown by doubling.
struct LayerKVCache {
  Tensor k, v;
  int64_t length = 0;
  void append(const Tensor& k_new, const Tensor& v_new);  // each [1, T, Hkv, D]
  Tensor keys() const { return k.narrow(1, 0, length); }
  Tensor values() const { return v.narrow(1, 0, length); }
};

struct CausalSelfAttention {
  Linear q_proj, k_proj, v_proj, o_proj;
  int64_t num_heads = 0, num_kv_heads = 0, head_dim = 0;

  static CausalSelfAttention create(int64_t dim, int64_t heads, int64_t kv_heads, int64_t head_dim,
                                    bool bias, double std, Generator& gen);
  // x [B, T, C]; positions i64 [B, T]; cos/sin tables from rope_tables. Without caches, all T
  // tokens attend causally among themselves (training, scoring). With one cache per sequence,
  // the new keys are appended and the T queries attend over everything cached (decoding).
  Tensor forward(const Tensor& x, const Tensor& positions, const Tensor& cos, const Tensor& sin,
                 const std::vector<LayerKVCache*>* caches = nullptr) const;
  void parameters(const std::string& prefix, ParameterRefs& out);
};

}  // namespace tessera::nn
