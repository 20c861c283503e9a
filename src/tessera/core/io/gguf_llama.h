#pragma once
// What a llama-architecture GGUF file (as llama.cpp's convert_hf_to_gguf.py writes it) says
// about its model and tokenizer, gathered into structs with clear errors for missing or
// ill-typed keys; plus the mapping from GGUF tensor names to Hugging Face names and the
// inverse of the converter's row permutation of q_proj/k_proj.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tessera/core/io/gguf.h"

namespace tessera::io {

// Hyper-parameters under the `<general.architecture>.` prefix (llama.*, mistral files use it
// too; qwen2.* and others follow the same key names).
struct GgufLlamaConfig {
  std::string architecture;           // general.architecture
  std::string name;                   // general.name ("" when absent)
  uint64_t context_length = 0;        // .context_length
  uint64_t embedding_length = 0;      // .embedding_length (hidden_size)
  uint64_t block_count = 0;           // .block_count (num_hidden_layers)
  uint64_t feed_forward_length = 0;   // .feed_forward_length (intermediate_size)
  uint64_t head_count = 0;            // .attention.head_count
  uint64_t head_count_kv = 0;         // .attention.head_count_kv (defaults to head_count)
  double rope_freq_base = 10000.0;    // .rope.freq_base (rope_theta)
  double rms_norm_eps = 0.0;          // .attention.layer_norm_rms_epsilon
  uint64_t rope_dimension_count = 0;  // .rope.dimension_count (defaults to the head size)
  std::string rope_scaling_type;      // .rope.scaling.type ("" when absent)
  double rope_scaling_factor = 0.0;   // .rope.scaling.factor (0 when absent)
  uint64_t vocab_size = 0;            // .vocab_size, else the length of tokenizer.ggml.tokens
  uint64_t head_dim() const { return head_count ? embedding_length / head_count : 0; }
};

// Reads and checks the hyper-parameters (positive sizes, head_count a multiple of
// head_count_kv, embedding_length a multiple of head_count). BadInput names the key at fault.
GgufLlamaConfig llama_metadata(const GgufFile& file);

// tokenizer.ggml.* and tokenizer.chat_template.
struct GgufTokenizer {
  std::string model;  // "llama" (SentencePiece), "gpt2" (byte-level BPE), ...
  std::string pre;    // pre-tokenizer name ("" when absent)
  std::vector<std::string> tokens;
  std::vector<float> scores;         // empty when absent, else one per token
  std::vector<int32_t> token_types;  // empty when absent, else one per token
  std::vector<std::string> merges;   // BPE merges "a b"; empty when absent
  std::optional<int64_t> bos_token_id, eos_token_id, unknown_token_id, padding_token_id;
  std::optional<bool> add_bos_token, add_eos_token;
  std::string chat_template;  // "" when absent
};

// Reads and checks the tokenizer arrays (equal lengths, ids inside the vocabulary).
GgufTokenizer gguf_tokenizer(const GgufFile& file);

// The Hugging Face (LlamaForCausalLM) name of a llama GGUF tensor ("blk.3.attn_q.weight" ->
// "model.layers.3.self_attn.q_proj.weight"), or nullopt for names with no HF counterpart
// (e.g. "rope_freqs.weight", which llama.cpp derives from rope_scaling).
std::optional<std::string> llama_hf_tensor_name(const std::string& gguf_name);

// convert_hf_to_gguf.py reorders the rows of q_proj (heads = head_count) and k_proj (heads =
// head_count_kv) so that each head's rotary pairs are adjacent (row 2j + t of a head came
// from row t * head_dim / 2 + j). This undoes it: [out, in] in GGUF order -> HF order.
Tensor llama_unpermute_qk(const Tensor& weight, int64_t heads);

}  // namespace tessera::io
