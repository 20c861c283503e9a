// Llama metadata, tokenizer arrays and tensor names from GGUF files.
#include "tessera/core/io/gguf_llama.h"

#include <array>
#include <utility>

namespace tessera::io {

namespace {

uint64_t positive(const GgufFile& file, const std::string& key) {
  const uint64_t value = file.get_uint(key);
  TESSERA_CHECK_INPUT(value > 0, "{}: metadata '{}' is 0, expected a positive count", file.source(),
                      key);
  return value;
}

std::optional<int64_t> token_id(const GgufFile& file, const std::string& key, size_t vocab) {
  if (!file.has(key)) return std::nullopt;
  const int64_t id = file.get_int(key);
  TESSERA_CHECK_INPUT(id >= 0 && static_cast<uint64_t>(id) < vocab,
                      "{}: metadata '{}' is {}, outside the vocabulary of {} tokens", file.source(),
                      key, id, vocab);
  return id;
}

}  // namespace

GgufLlamaConfig llama_metadata(const GgufFile& file) {
  GgufLlamaConfig config;
  config.architecture = file.get_string("general.architecture");
  if (file.has("general.name")) config.name = file.get_string("general.name");
  const std::string prefix = config.architecture + ".";
  config.context_length = positive(file, prefix + "context_length");
  config.embedding_length = positive(file, prefix + "embedding_length");
  config.block_count = positive(file, prefix + "block_count");
  config.feed_forward_length = positive(file, prefix + "feed_forward_length");
  config.head_count = positive(file, prefix + "attention.head_count");
  config.head_count_kv = file.has(prefix + "attention.head_count_kv")
                             ? positive(file, prefix + "attention.head_count_kv")
                             : config.head_count;
  config.rms_norm_eps = file.get_float(prefix + "attention.layer_norm_rms_epsilon");
  TESSERA_CHECK_INPUT(config.rms_norm_eps > 0.0 && config.rms_norm_eps < 1.0,
                      "{}: metadata '{}attention.layer_norm_rms_epsilon' is {}, expected a small "
                      "positive number",
                      file.source(), prefix, config.rms_norm_eps);
  if (file.has(prefix + "rope.freq_base")) {
    config.rope_freq_base = file.get_float(prefix + "rope.freq_base");
    TESSERA_CHECK_INPUT(config.rope_freq_base > 0.0,
                        "{}: metadata '{}rope.freq_base' is {}, expected a positive number",
                        file.source(), prefix, config.rope_freq_base);
  }
  TESSERA_CHECK_INPUT(config.head_count % config.head_count_kv == 0,
                      "{}: {} attention heads cannot be shared by {} key/value heads (not a "
                      "multiple)",
                      file.source(), config.head_count, config.head_count_kv);
  TESSERA_CHECK_INPUT(config.embedding_length % config.head_count == 0,
                      "{}: embedding_length {} is not a multiple of head_count {}", file.source(),
                      config.embedding_length, config.head_count);
  config.rope_dimension_count = file.has(prefix + "rope.dimension_count")
                                    ? positive(file, prefix + "rope.dimension_count")
                                    : config.head_dim();
  if (file.has(prefix + "rope.scaling.type")) {
    config.rope_scaling_type = file.get_string(prefix + "rope.scaling.type");
  }
  if (file.has(prefix + "rope.scaling.factor")) {
    config.rope_scaling_factor = file.get_float(prefix + "rope.scaling.factor");
  }
  if (file.has(prefix + "vocab_size")) {
    config.vocab_size = positive(file, prefix + "vocab_size");
  } else if (file.has("tokenizer.ggml.tokens")) {
    config.vocab_size = file.value("tokenizer.ggml.tokens").size();
  } else {
    throw bad_input(
        "{}: neither '{}vocab_size' nor 'tokenizer.ggml.tokens' gives the vocabulary "
        "size",
        file.source(), prefix);
  }
  return config;
}

GgufTokenizer gguf_tokenizer(const GgufFile& file) {
  GgufTokenizer tokenizer;
  tokenizer.model = file.get_string("tokenizer.ggml.model");
  if (file.has("tokenizer.ggml.pre")) tokenizer.pre = file.get_string("tokenizer.ggml.pre");
  tokenizer.tokens = file.get_strings("tokenizer.ggml.tokens");
  const size_t vocab = tokenizer.tokens.size();
  TESSERA_CHECK_INPUT(vocab > 0, "{}: metadata 'tokenizer.ggml.tokens' is empty", file.source());
  if (file.has("tokenizer.ggml.scores")) {
    for (double score : file.get_floats("tokenizer.ggml.scores")) {
      tokenizer.scores.push_back(static_cast<float>(score));
    }
    TESSERA_CHECK_INPUT(tokenizer.scores.size() == vocab,
                        "{}: metadata 'tokenizer.ggml.scores' has {} entries for {} tokens",
                        file.source(), tokenizer.scores.size(), vocab);
  }
  if (file.has("tokenizer.ggml.token_type")) {
    for (int64_t type : file.get_ints("tokenizer.ggml.token_type")) {
      tokenizer.token_types.push_back(static_cast<int32_t>(type));
    }
    TESSERA_CHECK_INPUT(tokenizer.token_types.size() == vocab,
                        "{}: metadata 'tokenizer.ggml.token_type' has {} entries for {} tokens",
                        file.source(), tokenizer.token_types.size(), vocab);
  }
  if (file.has("tokenizer.ggml.merges")) {
    tokenizer.merges = file.get_strings("tokenizer.ggml.merges");
  }
  tokenizer.bos_token_id = token_id(file, "tokenizer.ggml.bos_token_id", vocab);
  tokenizer.eos_token_id = token_id(file, "tokenizer.ggml.eos_token_id", vocab);
  tokenizer.unknown_token_id = token_id(file, "tokenizer.ggml.unknown_token_id", vocab);
  tokenizer.padding_token_id = token_id(file, "tokenizer.ggml.padding_token_id", vocab);
  if (file.has("tokenizer.ggml.add_bos_token")) {
    tokenizer.add_bos_token = file.get_bool("tokenizer.ggml.add_bos_token");
  }
  if (file.has("tokenizer.ggml.add_eos_token")) {
    tokenizer.add_eos_token = file.get_bool("tokenizer.ggml.add_eos_token");
  }
  if (file.has("tokenizer.chat_template")) {
    tokenizer.chat_template = file.get_string("tokenizer.chat_template");
  }
  return tokenizer;
}

std::optional<std::string> llama_hf_tensor_name(const std::string& gguf_name) {
  static const std::array<std::pair<std::string_view, std::string_view>, 3> kGlobal{{
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  }};
  for (const auto& [gguf, hf] : kGlobal) {
    if (gguf_name == gguf) return std::string(hf);
  }
  static const std::array<std::pair<std::string_view, std::string_view>, 9> kPerLayer{{
      {"attn_norm", "input_layernorm"},
      {"attn_q", "self_attn.q_proj"},
      {"attn_k", "self_attn.k_proj"},
      {"attn_v", "self_attn.v_proj"},
      {"attn_output", "self_attn.o_proj"},
      {"ffn_norm", "post_attention_layernorm"},
      {"ffn_gate", "mlp.gate_proj"},
      {"ffn_up", "mlp.up_proj"},
      {"ffn_down", "mlp.down_proj"},
  }};
  // blk.<layer>.<part>.<weight|bias>
  const std::string_view name = gguf_name;
  if (name.substr(0, 4) != "blk.") return std::nullopt;
  const size_t layer_end = name.find('.', 4);
  if (layer_end == std::string_view::npos || layer_end == 4) return std::nullopt;
  const std::string_view layer = name.substr(4, layer_end - 4);
  for (char c : layer) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  const size_t part_end = name.rfind('.');
  if (part_end <= layer_end) return std::nullopt;
  const std::string_view part = name.substr(layer_end + 1, part_end - layer_end - 1);
  const std::string_view suffix = name.substr(part_end + 1);
  if (suffix != "weight" && suffix != "bias") return std::nullopt;
  for (const auto& [gguf, hf] : kPerLayer) {
    if (part == gguf) {
      return fmt::format("model.layers.{}.{}.{}", layer, hf, suffix);
    }
  }
  return std::nullopt;
}

Tensor llama_unpermute_qk(const Tensor& weight, int64_t heads) {
  TESSERA_CHECK_INPUT(weight.dim() == 2 || weight.dim() == 1,
                      "llama_unpermute_qk: expected a [out, in] weight or [out] bias, got shape {}",
                      shape_str(weight.shape()));
  TESSERA_CHECK_INPUT(heads > 0 && weight.size(0) % (2 * heads) == 0,
                      "llama_unpermute_qk: {} rows cannot be split into {} heads of rotary pairs",
                      weight.size(0), heads);
  const int64_t out = weight.size(0);
  const int64_t half = out / heads / 2;
  Shape split{heads, half, 2};
  if (weight.dim() == 2) split.push_back(weight.size(1));
  // [heads, half, 2, ...] -> [heads, 2, half, ...]: row h*hd + t*half + j <- h*hd + 2j + t.
  return weight.contiguous().reshape(split).transpose(1, 2).contiguous().reshape(weight.shape());
}

}  // namespace tessera::io
