#pragma once
// Mamba2ForCausalLM (Dao & Gu 2024): embeddings, residual blocks x + mixer(RMSNorm(x)), norm_f,
// tied or untied lm_head. config.json keys and tensor names follow transformers' Mamba2
// (backbone.embeddings, backbone.layers.N.mixer.*, backbone.norm_f, lm_head); the original
// state-spaces/mamba2-* layout (d_model, n_layer, ssm_cfg; pytorch_model.bin) is converted on
// load (models/mamba2_original.h).
#include <map>

#include "tessera/models/causal_lm.h"
#include "tessera/nn/mamba2.h"

namespace tessera::models {

struct Mamba2Config {
  int64_t vocab_size = 50288;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 24;
  nn::Mamba2MixerConfig mixer;
  int64_t expand = 2;
  bool tie_word_embeddings = true;
  double initializer_range = 0.02;
  int64_t max_position_embeddings = 0;  // 0: unlimited (a recurrent model has no position limit)
  nlohmann::json bos_token_id = nullptr, eos_token_id = nullptr, pad_token_id = nullptr;

  // Parses transformers' Mamba2Config keys; BadInput naming the key when wrong.
  static Mamba2Config from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

struct Mamba2Block {
  nn::RMSNorm norm;
  nn::Mamba2Mixer mixer;
};

class Mamba2Model : public CausalLM {
 public:
  Mamba2Model(const Mamba2Config& config, uint64_t seed);
  std::string model_type() const override { return "mamba2"; }
  int64_t vocab_size() const override { return config_.vocab_size; }
  int64_t max_positions() const override;
  nlohmann::json config_json() const override { return config_.to_json(); }
  int64_t num_layers() const override { return config_.num_hidden_layers; }

  Tensor forward(const Tensor& ids) override;
  Tensor hidden_states(const Tensor& ids, int64_t layer) override;
  std::unique_ptr<DecodeState> new_state() const override;
  Tensor forward_step(const Tensor& ids, const std::vector<DecodeState*>& states) override;
  nn::ParameterRefs parameters() override;
  std::vector<std::string> optional_checkpoint_names() const override;

  const Mamba2Config& config() const { return config_; }

 private:
  Tensor logits(const Tensor& hidden) const;
  Tensor run_blocks(Tensor x, int64_t stop_after);

  Mamba2Config config_;
  nn::Embedding embeddings_;
  std::vector<Mamba2Block> layers_;
  nn::RMSNorm norm_f_;
  nn::Linear lm_head_;  // undefined weight when tied
};

}  // namespace tessera::models

namespace tessera::models {
// Named sizes for `tessera train --model-type mamba2 --preset NAME`, with parameter counts (without
// embeddings) close to llama's preset of the same name: tiny 0.82M vs 0.79M, small 4.74M vs 4.72M.
std::map<std::string, nlohmann::json> mamba2_presets();
}  // namespace tessera::models
