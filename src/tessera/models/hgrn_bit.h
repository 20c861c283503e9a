#pragma once
// HGRNBitForCausalLM (ridgerchu/matmulfreellm; checkpoints ridger/MMfreeLM-370M/1.3B/2.7B):
// config.json keys and tensor names as released, so those folders load unchanged (bf16 latent
// weights become f32 and are ternarized on the fly, exactly as the released code does).
// A folder written by `tessera quantize` carries "quantization_config" and stores every
// BitLinear packed (weight_packed + weight_scale) and the embeddings in bf16; it loads through
// the same load_model and runs on the multiplication-free kernels.
#include <map>

#include "tessera/models/causal_lm.h"
#include "tessera/nn/mlgru.h"

namespace tessera::models {

struct HgrnBitConfig {
  int64_t vocab_size = 32000;
  int64_t hidden_size = 2048;
  int64_t num_hidden_layers = 24;
  int64_t num_heads = 1;
  int64_t expand_ratio = 1;
  int64_t hidden_ratio = 4;
  int64_t intermediate_size = 0;  // 0: from hidden_ratio as upstream (2/3 * 4 * hidden, to 256)
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  bool use_lower_bound = true;
  double initializer_range = 0.02;
  nlohmann::json bos_token_id = 1, eos_token_id = 2, pad_token_id = nullptr;
  // Packed (quantized) folders only.
  nn::TernaryPacking packing = nn::TernaryPacking::none;
  // Embedding table of a packed folder: "bf16" (lossless for the bf16 releases) or "int8"
  // (per-row absmax, with "model.embeddings.weight_scale" [vocab]).
  std::string embedding_storage = "bf16";

  // Parses upstream keys; BadInput naming the key for unsupported or inconsistent values.
  static HgrnBitConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
  int64_t effective_intermediate_size() const;
};

// Named sizes for `tessera train --preset` (tiny, small, base, 125m), each within a few per
// cent of llama's preset of the same name in non-embedding parameters.
std::map<std::string, nlohmann::json> hgrn_bit_presets();

struct HgrnBitBlock {
  nn::RMSNorm attn_norm, mlp_norm;
  nn::MlgruTokenMixer attn;
  nn::BitGluMlp mlp;
};

class HgrnBitModel : public CausalLM {
 public:
  HgrnBitModel(const HgrnBitConfig& config, uint64_t seed);
  std::string model_type() const override { return "hgrn_bit"; }
  int64_t vocab_size() const override { return config_.vocab_size; }
  // A recurrent model has no position limit of its own; the config's value is what upstream
  // trained with and is kept for the tools that size buffers from it.
  int64_t max_positions() const override { return config_.max_position_embeddings; }
  nlohmann::json config_json() const override { return config_.to_json(); }
  int64_t num_layers() const override { return config_.num_hidden_layers; }

  Tensor forward(const Tensor& ids) override;
  Tensor hidden_states(const Tensor& ids, int64_t layer) override;
  std::unique_ptr<DecodeState> new_state() const override;
  Tensor forward_step(const Tensor& ids, const std::vector<DecodeState*>& states) override;
  nn::ParameterRefs parameters() override;
  // Packed tensors and bf16 embeddings for a quantized model; for a latent model its
  // parameters plus the ternarized copies inference keeps.
  int64_t resident_weight_bytes() override;

  const HgrnBitConfig& config() const { return config_; }
  bool is_packed() const { return config_.packing != nn::TernaryPacking::none; }
  // A packed copy (the quantize export): every BitLinear packed with its scale kept, the
  // embeddings in bf16, everything else unchanged.
  std::unique_ptr<HgrnBitModel> quantized(nn::TernaryPacking packing,
                                          const std::string& embedding_storage = "bf16") const;
  // Every BitLinear with its checkpoint prefix (for statistics).
  std::vector<std::pair<std::string, const nn::BitLinear*>> bit_linears() const;

 private:
  Tensor embed(const Tensor& ids) const;
  Tensor layer_lower_bounds() const;
  // Blocks up to `stop_after` (all when -1); states [layers] of [B, hidden] when decoding.
  Tensor run_blocks(Tensor x, int64_t stop_after, std::vector<Tensor>* states);

  HgrnBitConfig config_;
  Tensor embeddings_;        // [vocab, hidden]; f32, or bf16 / i8 when packed
  Tensor embedding_scales_;  // [vocab] f32 for i8 embeddings
  Tensor lower_bounds_;      // [layers, hidden] when use_lower_bound
  std::vector<HgrnBitBlock> layers_;
  nn::RMSNorm norm_;
  nn::BitLinear lm_head_;
};

}  // namespace tessera::models
