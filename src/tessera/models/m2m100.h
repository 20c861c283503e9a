#pragma once
// M2M100ForConditionalGeneration (facebook/nllb-200-distilled-600M, -1.3B, -3.3B, m2m100_*)
// and NllbMoeForConditionalGeneration (facebook/nllb-moe-54b) as Hugging Face defines them:
// upstream config keys and tensor names, sinusoidal positions with fairseq's padding offset,
// sqrt(d_model) embedding scaling, pre-LN blocks, final encoder/decoder layer norms, one
// shared embedding tied to the output head, cross-attention over a cached encoder memory.
// The two layouts differ only in names and in that NLLB-MoE makes every k-th FFN sparse.
#include <memory>
#include <optional>

#include "tessera/models/seq2seq.h"
#include "tessera/nn/moe.h"
#include "tessera/nn/seq2seq_attention.h"

namespace tessera::models {

struct M2M100Config {
  bool moe_layout = false;  // model_type "nllb-moe" (NllbMoe names, sparse layers)
  int64_t vocab_size = 128112;
  int64_t d_model = 1024;
  int64_t encoder_layers = 12, decoder_layers = 12;
  int64_t encoder_attention_heads = 16, decoder_attention_heads = 16;
  int64_t encoder_ffn_dim = 4096, decoder_ffn_dim = 4096;
  int64_t max_position_embeddings = 1024;
  nn::Activation activation = nn::Activation::relu;
  bool scale_embedding = true;
  bool tie_word_embeddings = true;
  int64_t pad_token_id = 1, bos_token_id = 0, eos_token_id = 2, decoder_start_token_id = 2;
  double dropout = 0.1, init_std = 0.02;
  // Training-only regularisers, transformers' defaults when config.json omits them: dropout on
  // attention probabilities, on the FFN's hidden activations, and skipping whole layers.
  double attention_dropout = 0.1, activation_dropout = 0.0;
  double encoder_layerdrop = 0.05, decoder_layerdrop = 0.05;
  double layer_norm_eps = 1e-5;
  // NLLB-MoE
  int64_t num_experts = 0;
  int64_t expert_capacity = 0;  // kept for round trips; training uses 2 * ceil(tokens / experts)
  int64_t encoder_sparse_step = 0, decoder_sparse_step = 0;
  bool router_bias = false;
  std::string second_expert_policy = "all";
  bool normalize_router_prob_before_dropping = false;
  bool batch_prioritized_routing = false;
  double moe_eval_capacity_token_fraction = 1.0;
  double moe_token_dropout = 0.0;  // Expert Output Masking rate
  double router_aux_loss_coef = 0.01;
  double router_z_loss_coef = 0.001;  // kept for round trips; the trainer takes its own weight
  nlohmann::json original;  // the parsed config.json, so unknown keys survive a save

  static M2M100Config from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
  bool encoder_layer_sparse(int64_t i) const {
    return moe_layout && encoder_sparse_step > 0 && (i + 1) % encoder_sparse_step == 0;
  }
  bool decoder_layer_sparse(int64_t i) const {
    return moe_layout && decoder_sparse_step > 0 && (i + 1) % decoder_sparse_step == 0;
  }
  nn::MoeConfig moe_config() const;
};

// Dense (fc1, act, fc2) or sparse feed-forward of one block.
struct FeedForward {
  nn::QuantizableLinear fc1, fc2;
  std::optional<nn::MoeFfn> moe;
};

struct EncoderLayer {
  nn::MultiHeadAttention self_attn;
  nn::LayerNorm self_attn_layer_norm, ffn_layer_norm;
  FeedForward ffn;
};

struct DecoderLayer {
  nn::MultiHeadAttention self_attn, cross_attn;
  nn::LayerNorm self_attn_layer_norm, cross_attn_layer_norm, ffn_layer_norm;
  FeedForward ffn;
};

class M2M100Model : public Seq2SeqLM {
 public:
  M2M100Model(const M2M100Config& config, uint64_t seed);
  std::string model_type() const override { return config_.moe_layout ? "nllb-moe" : "m2m_100"; }
  int64_t vocab_size() const override { return config_.vocab_size; }
  int64_t max_positions() const override { return config_.max_position_embeddings; }
  nlohmann::json config_json() const override { return config_.to_json(); }
  int64_t pad_token_id() const override { return config_.pad_token_id; }
  int64_t eos_token_id() const override { return config_.eos_token_id; }
  int64_t decoder_start_token_id() const override { return config_.decoder_start_token_id; }
  void set_training(bool on, uint64_t seed = 0) override;
  bool training() const override { return training_; }

  Seq2SeqOutput forward(const Tensor& src_ids, const Tensor& decoder_ids) override;
  std::vector<std::unique_ptr<Seq2SeqState>> encode(const Tensor& src_ids) override;
  Tensor decode_step(const Tensor& ids, const std::vector<Seq2SeqState*>& states) override;
  nn::ParameterRefs parameters() override;
  std::vector<std::string> optional_checkpoint_names() const override;
  std::vector<std::string> aliases_of(const std::string& name) const override;

  void quantize_int8() override;
  bool quantized() const override { return output_int8_.defined(); }
  int64_t resident_weight_bytes() override;

  const M2M100Config& config() const { return config_; }
  // Encoder output [B, S, d] (after the final layer norm), for tests and tools.
  Tensor encoder_hidden(const Tensor& src_ids);

 private:
  Tensor embed(const Tensor& ids, int64_t past);
  Tensor token_embeddings(const Tensor& ids) const;
  // The MoE layers' training losses of one forward pass, one entry per sparse layer run.
  struct RouterLosses {
    std::vector<Tensor> balance, z;
  };
  Tensor run_ffn(const FeedForward& ffn, const Tensor& x, const std::vector<uint8_t>* active,
                 RouterLosses* losses);
  Tensor run_encoder(const Tensor& src_ids, RouterLosses* losses);
  // Training: true when layerdrop skips this layer for the pass (fairseq / transformers draw
  // once per layer and pass).
  bool drop_layer(double layerdrop);
  Tensor output_logits(const Tensor& hidden) const;
  std::string layer_prefix(bool encoder, int64_t i) const;

  M2M100Config config_;
  nn::Embedding shared_;
  std::vector<EncoderLayer> encoder_layers_;
  std::vector<DecoderLayer> decoder_layers_;
  nn::LayerNorm encoder_norm_, decoder_norm_;
  nn::Linear lm_head_;          // undefined when tied
  nn::Int8Matrix output_int8_;  // the output projection once quantized
  Tensor positions_;            // sinusoidal table [max_positions + 2, d]
  bool training_ = false;
  Generator dropout_gen_;
};

}  // namespace tessera::models
