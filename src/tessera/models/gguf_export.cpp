#include "tessera/models/gguf_export.h"

#include <algorithm>

#include "tessera/core/autograd.h"
#include "tessera/core/error.h"
#include "tessera/core/io/gguf.h"
#include "tessera/models/llama.h"

namespace tessera::models {

Tensor llama_permute_qk(const Tensor& weight, int64_t heads) {
  TESSERA_CHECK_INPUT(weight.dim() == 2 && heads > 0 && weight.size(0) % (2 * heads) == 0,
                      "llama_permute_qk: [out, in] with out a multiple of 2*heads expected, got {} for {} heads",
                      shape_str(weight.shape()), heads);
  const int64_t rows = weight.size(0), cols = weight.size(1), head_dim = rows / heads;
  Tensor src = weight.to(DType::f32).contiguous();
  Tensor out = Tensor::empty(weight.shape());
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t j = 0; j < head_dim / 2; ++j)
      for (int64_t t = 0; t < 2; ++t)
        std::copy_n(src.data<float>() + (h * head_dim + t * head_dim / 2 + j) * cols, cols,
                    out.data<float>() + (h * head_dim + 2 * j + t) * cols);
  return out;
}

std::string llama_gguf_tensor_name(const std::string& hf_name) {
  static const std::pair<const char*, const char*> kLayerLeaves[] = {
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
      {"input_layernorm.weight", "attn_norm.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"}};
  if (hf_name == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf_name == "model.norm.weight") return "output_norm.weight";
  if (hf_name == "lm_head.weight") return "output.weight";
  const std::string prefix = "model.layers.";
  if (hf_name.rfind(prefix, 0) == 0) {
    std::string rest = hf_name.substr(prefix.size());
    size_t dot = rest.find('.');
    if (dot != std::string::npos) {
      std::string layer = rest.substr(0, dot), leaf = rest.substr(dot + 1);
      for (const auto& [from, to] : kLayerLeaves)
        if (leaf == from) return "blk." + layer + "." + to;
    }
  }
  throw bad_input("{} has no llama GGUF name", hf_name);
}

void save_llama_gguf(CausalLM& model, const std::string& path, const GgufExportOptions& options) {
  auto* llama = dynamic_cast<LlamaModel*>(&model);
  TESSERA_CHECK_INPUT(llama != nullptr, "GGUF export supports model_type llama, not {}", model.model_type());
  const LlamaConfig& c = llama->config();
  const std::string& scaling = c.rope.scaling_type;
  TESSERA_CHECK_INPUT(scaling.empty() || scaling == "default" || scaling == "linear",
                      "GGUF export of rope_scaling type \"{}\" is not supported (default and linear are)",
                      scaling);
  auto u32 = [](int64_t v) { return io::GgufValue::u32(static_cast<uint32_t>(v)); };
  io::GgufMetadata meta = {
      {"general.architecture", io::GgufValue::string("llama")},
      {"general.name", io::GgufValue::string("tessera-export")},
      {"llama.context_length", u32(c.max_position_embeddings)},
      {"llama.embedding_length", u32(c.hidden_size)},
      {"llama.block_count", u32(c.num_hidden_layers)},
      {"llama.feed_forward_length", u32(c.intermediate_size)},
      {"llama.attention.head_count", u32(c.num_attention_heads)},
      {"llama.attention.head_count_kv", u32(c.num_key_value_heads)},
      {"llama.attention.layer_norm_rms_epsilon", io::GgufValue::f32(static_cast<float>(c.rms_norm_eps))},
      {"llama.rope.freq_base", io::GgufValue::f32(static_cast<float>(c.rope.theta))},
      {"llama.rope.dimension_count", u32(c.effective_head_dim())},
      {"llama.attention.key_length", u32(c.effective_head_dim())},
      {"llama.attention.value_length", u32(c.effective_head_dim())},
      {"llama.vocab_size", u32(c.vocab_size)},
      {"tokenizer.ggml.model", io::GgufValue::string("none")},
  };
  if (scaling == "linear") {
    meta.emplace_back("llama.rope.scaling.type", io::GgufValue::string("linear"));
    meta.emplace_back("llama.rope.scaling.factor", io::GgufValue::f32(static_cast<float>(c.rope.factor)));
  }
  NoGrad no_grad;
  std::vector<io::GgufTensorToWrite> tensors;
  for (auto& [name, tensor] : model.parameters()) {
    Tensor w = tensor->to(DType::f32);
    if (name.find("self_attn.q_proj.weight") != std::string::npos) w = llama_permute_qk(w, c.num_attention_heads);
    if (name.find("self_attn.k_proj.weight") != std::string::npos) w = llama_permute_qk(w, c.num_key_value_heads);
    const bool matrix = w.dim() == 2;
    tensors.push_back({llama_gguf_tensor_name(name), w, matrix ? options.matrix_type : std::nullopt});
  }
  io::save_gguf(path, meta, tensors);
}

}  // namespace tessera::models
