// A llama model written as llama.cpp's convert script would (GGUF names, permuted q/k rows)
// loads back with the same logits.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "tessera/core/io/gguf.h"
#include "tessera/models/llama.h"

namespace tessera::models {
namespace {

namespace fs = std::filesystem;

// convert_hf_to_gguf.py's row order: GGUF row h*hd + 2j + t holds HF row h*hd + t*hd/2 + j.
Tensor permute_for_gguf(const Tensor& w, int64_t heads) {
  const int64_t rows = w.size(0), cols = w.size(1), hd = rows / heads;
  Tensor out = Tensor::empty(w.shape());
  Tensor src = w.contiguous();
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t j = 0; j < hd / 2; ++j)
      for (int64_t t = 0; t < 2; ++t)
        std::copy_n(src.data<float>() + (h * hd + t * hd / 2 + j) * cols, cols,
                    out.data<float>() + (h * hd + 2 * j + t) * cols);
  return out;
}

std::string gguf_name(const std::string& hf) {
  static const std::pair<const char*, const char*> map[] = {
      {"self_attn.q_proj.weight", "attn_q.weight"}, {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"}, {"self_attn.o_proj.weight", "attn_output.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},  {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},  {"input_layernorm.weight", "attn_norm.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"}};
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  std::string rest = hf.substr(std::string("model.layers.").size());
  std::string layer = rest.substr(0, rest.find('.'));
  std::string leaf = rest.substr(rest.find('.') + 1);
  for (const auto& [from, to] : map)
    if (leaf == from) return "blk." + layer + "." + to;
  return "?";
}

void write_gguf(CausalLM& model, const std::string& path, std::optional<io::GgmlType> store_as) {
  const auto& c = dynamic_cast<LlamaModel&>(model).config();
  io::GgufMetadata meta = {
      {"general.architecture", io::GgufValue::string("llama")},
      {"llama.context_length", io::GgufValue::u32(static_cast<uint32_t>(c.max_position_embeddings))},
      {"llama.embedding_length", io::GgufValue::u32(static_cast<uint32_t>(c.hidden_size))},
      {"llama.block_count", io::GgufValue::u32(static_cast<uint32_t>(c.num_hidden_layers))},
      {"llama.feed_forward_length", io::GgufValue::u32(static_cast<uint32_t>(c.intermediate_size))},
      {"llama.attention.head_count", io::GgufValue::u32(static_cast<uint32_t>(c.num_attention_heads))},
      {"llama.attention.head_count_kv", io::GgufValue::u32(static_cast<uint32_t>(c.num_key_value_heads))},
      {"llama.attention.layer_norm_rms_epsilon", io::GgufValue::f32(static_cast<float>(c.rms_norm_eps))},
      {"llama.rope.freq_base", io::GgufValue::f32(static_cast<float>(c.rope.theta))},
      {"llama.vocab_size", io::GgufValue::u32(static_cast<uint32_t>(c.vocab_size))},
  };
  std::vector<io::GgufTensorToWrite> tensors;
  for (auto& [name, t] : model.parameters()) {
    Tensor w = *t;
    if (name.find("q_proj") != std::string::npos) w = permute_for_gguf(w, c.num_attention_heads);
    if (name.find("k_proj") != std::string::npos) w = permute_for_gguf(w, c.num_key_value_heads);
    bool matrix = w.dim() == 2 && w.size(1) % 32 == 0;
    tensors.push_back({gguf_name(name), w, matrix ? store_as : std::nullopt});
  }
  io::save_gguf(path, meta, tensors);
}

nlohmann::json config(bool tied) {
  return {{"model_type", "llama"},    {"vocab_size", 40},        {"hidden_size", 64},
          {"intermediate_size", 96},  {"num_hidden_layers", 2},  {"num_attention_heads", 4},
          {"num_key_value_heads", 2}, {"max_position_embeddings", 64},
          {"rms_norm_eps", 1e-5},     {"tie_word_embeddings", tied}, {"initializer_range", 0.1}};
}

TEST(GgufModel, F32FileGivesTheSameLogits) {
  for (bool tied : {false, true}) {
    auto model = create_model(config(tied), 2);
    std::string path = (fs::temp_directory_path() / ("tessera_llama_" + std::to_string(::getpid()) + ".gguf")).string();
    write_gguf(*model, path, std::nullopt);
    auto loaded = load_model(path);
    Tensor ids = Tensor::from_vector<int64_t>({1, 7, 3, 39, 0}, {1, 5});
    std::vector<float> a = model->forward(ids).to_vector<float>(), b = loaded->forward(ids).to_vector<float>();
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5) << i;
    fs::remove(path);
  }
}

TEST(GgufModel, Q8_0FileIsClose) {
  auto model = create_model(config(false), 3);
  std::string path = (fs::temp_directory_path() / ("tessera_llama_q8_" + std::to_string(::getpid()) + ".gguf")).string();
  write_gguf(*model, path, io::GgmlType::Q8_0);
  auto loaded = load_model(path);
  Tensor ids = Tensor::from_vector<int64_t>({1, 7, 3, 39, 0}, {1, 5});
  std::vector<float> a = model->forward(ids).to_vector<float>(), b = loaded->forward(ids).to_vector<float>();
  double max_err = 0;
  for (size_t i = 0; i < a.size(); ++i) max_err = std::max(max_err, static_cast<double>(std::abs(a[i] - b[i])));
  EXPECT_LT(max_err, 0.05);
  EXPECT_GT(max_err, 0.0) << "Q8_0 should not be lossless";
  fs::remove(path);
}

}  // namespace
}  // namespace tessera::models
