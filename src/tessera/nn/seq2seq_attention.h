#pragma once
// Pieces of the Transformer encoder-decoder (Vaswani et al. 2017) as fairseq and Hugging Face's
// M2M-100 / NLLB write them: multi-head attention with biased projections used for encoder
// self-attention, causal decoder self-attention and decoder-to-encoder cross-attention; the
// fairseq sinusoidal position table with its padding offset; the FFN activations by name.
#include <string>
#include <utility>
#include <vector>

#include "tessera/nn/attention.h"
#include "tessera/nn/int8_linear.h"
#include "tessera/nn/layers.h"

namespace tessera::nn {

enum class Activation { relu, gelu, gelu_tanh, silu };
// Hugging Face's activation_function names: relu, gelu, gelu_new / gelu_pytorch_tanh, silu / swish.
Activation parse_activation(const std::string& name);
std::string activation_name(Activation activation);
Tensor activate(const Tensor& x, Activation activation);

// fairseq's sinusoidal table (tensor2tensor layout): row p = [sin(p*f_0..f_{h-1}),
// cos(p*f_0..f_{h-1})] with f_i = exp(-i * ln(10000) / (h - 1)), h = dim / 2, a zero column
// when dim is odd, and the padding row set to zero. [rows, dim], computed in double.
Tensor sinusoidal_position_table(int64_t rows, int64_t dim, int64_t padding_idx, DType dtype);

// Position ids as fairseq's make_positions: a non-pad token at index t (counting only non-pad
// tokens, plus `past` already consumed) gets padding_idx + 1 + t; pad tokens get padding_idx.
// ids [B, T] integer -> i64 [B, T].
Tensor positions_from_ids(const Tensor& ids, int64_t padding_idx, int64_t past = 0);

// Additive key mask [B, 1, 1, S]: 0 for real tokens, a large negative value for pads (ids == pad).
// Undefined when no id is a pad (callers then take the fused attention kernel).
Tensor key_padding_bias(const Tensor& ids, int64_t padding_idx, DType dtype);

struct MultiHeadAttention {
  QuantizableLinear q_proj, k_proj, v_proj, out_proj;  // all with biases, [dim, dim]
  int64_t num_heads = 0, head_dim = 0;

  static MultiHeadAttention create(int64_t dim, int64_t heads, double std, Generator& gen);
  // Full-sequence attention (training, scoring, encoding): queries from x [B, T, C], keys and
  // values from memory [B, S, C] (x itself for self-attention). key_bias [B, 1, 1, S] (may be
  // undefined) masks padded keys; causal masks future keys (self-attention, S == T).
  // attention_dropout > 0 (training) drops attention probabilities with `gen`, as fairseq's
  // attention_dropout does; it takes the unfused path.
  Tensor forward(const Tensor& x, const Tensor& memory, const Tensor& key_bias, bool causal,
                 double attention_dropout = 0.0, Generator* gen = nullptr) const;
  // Keys and values of a memory [B, S, C] as [B, S, H, D] (the cross-attention cache).
  std::pair<Tensor, Tensor> project_kv(const Tensor& memory) const;
  // Decoding: x [B, 1, C], one (keys, values) pair [1, S_b, H, D] per sequence -> [B, 1, C].
  Tensor attend(const Tensor& x, const std::vector<std::pair<Tensor, Tensor>>& kv) const;
  // Decoding self-attention: appends this step's keys/values to each sequence's cache, then
  // attends over the whole cache. x [B, 1, C].
  Tensor attend_self(const Tensor& x, const std::vector<LayerKVCache*>& caches) const;
  void parameters(const std::string& prefix, ParameterRefs& out);
  void quantize_int8();
};

// Inverted dropout (kept values scaled by 1 / (1 - p)); identity when p == 0.
Tensor dropout(const Tensor& x, double p, Generator& gen);

}  // namespace tessera::nn
