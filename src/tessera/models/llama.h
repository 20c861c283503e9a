#pragma once
// LlamaForCausalLM as Hugging Face defines it: config.json keys and tensor names match, so
// checkpoints move between Tessera and transformers unchanged.
#include "tessera/models/causal_lm.h"
#include "tessera/nn/attention.h"

namespace tessera::models {

struct LlamaConfig {
  int64_t vocab_size = 32000;
  int64_t hidden_size = 4096;
  int64_t intermediate_size = 11008;
  int64_t num_hidden_layers = 32;
  int64_t num_attention_heads = 32;
  int64_t num_key_value_heads = 32;
  int64_t head_dim = 0;  // 0: hidden_size / num_attention_heads
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  nn::RopeConfig rope;
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  double initializer_range = 0.02;
  nlohmann::json bos_token_id = nullptr, eos_token_id = nullptr;  // int, list or null

  // Parses upstream keys; BadInput naming the key for missing or inconsistent values.
  static LlamaConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
  int64_t effective_head_dim() const { return head_dim > 0 ? head_dim : hidden_size / num_attention_heads; }
};

struct LlamaBlock {
  nn::RMSNorm input_layernorm, post_attention_layernorm;
  nn::CausalSelfAttention self_attn;
  nn::SwiGluMlp mlp;
};

class LlamaModel : public CausalLM {
 public:
  LlamaModel(const LlamaConfig& config, uint64_t seed);
  std::string model_type() const override { return "llama"; }
  int64_t vocab_size() const override { return config_.vocab_size; }
  int64_t max_positions() const override { return config_.max_position_embeddings; }
  nlohmann::json config_json() const override { return config_.to_json(); }
  int64_t num_layers() const override { return config_.num_hidden_layers; }

  Tensor forward(const Tensor& ids) override;
  Tensor hidden_states(const Tensor& ids, int64_t layer) override;
  Tensor forward_with_hook(const Tensor& ids, const ActivationHook& hook) override;
  std::unique_ptr<DecodeState> new_state() const override;
  Tensor forward_step(const Tensor& ids, const std::vector<DecodeState*>& states) override;
  nn::ParameterRefs parameters() override;
  std::vector<std::string> optional_checkpoint_names() const override;

  const LlamaConfig& config() const { return config_; }

 private:
  // Runs the blocks up to `stop_after` (all when -1) on embeddings x with positions [B, T].
  Tensor run_blocks(Tensor x, const Tensor& positions, int64_t stop_after,
                    const std::vector<std::vector<nn::LayerKVCache*>>* caches);
  Tensor logits(const Tensor& hidden) const;
  void ensure_rope_tables(int64_t positions);

  LlamaConfig config_;
  nn::Embedding embed_tokens_;
  std::vector<LlamaBlock> layers_;
  nn::RMSNorm norm_;
  nn::Linear lm_head_;  // undefined weight when tied
  Tensor inv_freq_, rope_cos_, rope_sin_;
};

}  // namespace tessera::models
