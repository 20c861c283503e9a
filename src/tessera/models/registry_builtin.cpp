// The architectures built into Tessera register here, once: a factory per model_type and the
// named sizes `tessera train --preset` offers for it.
#include <mutex>

#include "tessera/models/checkpoint_layouts.h"
#include "tessera/models/hgrn_bit.h"
#include "tessera/models/llama.h"
#include "tessera/models/mamba2.h"
#include "tessera/models/mamba2_original.h"
#include "tessera/models/presets.h"

namespace tessera::models {

namespace {
// Llama shapes: parameters excluding embeddings are about 12 * layers * hidden^2.
std::map<std::string, nlohmann::json> llama_presets() {
  const nlohmann::json common = {{"model_type", "llama"},
                                 {"rms_norm_eps", 1e-5},
                                 {"rope_theta", 10000.0},
                                 {"tie_word_embeddings", true},
                                 {"initializer_range", 0.02}};
  auto preset = [&](int hidden, int intermediate, int layers, int heads, int kv_heads) {
    nlohmann::json config = common;
    config["hidden_size"] = hidden;
    config["intermediate_size"] = intermediate;
    config["num_hidden_layers"] = layers;
    config["num_attention_heads"] = heads;
    config["num_key_value_heads"] = kv_heads;
    return config;
  };
  return {{"tiny", preset(128, 384, 4, 4, 2)},
          {"small", preset(256, 768, 6, 8, 4)},
          {"base", preset(512, 1536, 8, 8, 4)},
          {"125m", preset(768, 2048, 12, 12, 12)}};
}

// Encoder-decoder shapes of the NLLB releases (facebook/nllb-200-*), with their vocabulary of
// 256,206 ids, and a tiny one for tests; `nllb-moe` gets a tiny sparse model (NLLB-MoE 54B
// itself does not fit in memory here).
nlohmann::json m2m100_shape(int d_model, int layers, int heads, int ffn, int vocab) {
  return {{"model_type", "m2m_100"},       {"architectures", {"M2M100ForConditionalGeneration"}},
          {"vocab_size", vocab},            {"d_model", d_model},
          {"encoder_layers", layers},       {"decoder_layers", layers},
          {"encoder_attention_heads", heads}, {"decoder_attention_heads", heads},
          {"encoder_ffn_dim", ffn},         {"decoder_ffn_dim", ffn},
          {"max_position_embeddings", 1024}, {"activation_function", "relu"},
          {"scale_embedding", true},        {"tie_word_embeddings", true},
          {"dropout", 0.1},                 {"attention_dropout", 0.1},
          {"activation_dropout", 0.0},      {"init_std", 0.02},
          {"pad_token_id", 1},              {"bos_token_id", 0},
          {"eos_token_id", 2},              {"decoder_start_token_id", 2}};
}

std::map<std::string, nlohmann::json> m2m100_presets() {
  return {{"tiny", m2m100_shape(64, 2, 4, 256, 1000)},
          {"600m", m2m100_shape(1024, 12, 16, 4096, 256206)},
          {"1.3b", m2m100_shape(1024, 24, 16, 8192, 256206)},
          {"3.3b", m2m100_shape(2048, 24, 16, 8192, 256206)}};
}

std::map<std::string, nlohmann::json> nllb_moe_presets() {
  nlohmann::json tiny = m2m100_shape(64, 2, 4, 256, 1000);
  tiny["model_type"] = "nllb-moe";
  tiny["architectures"] = {"NllbMoeForConditionalGeneration"};
  tiny.update({{"num_experts", 4},
               {"encoder_sparse_step", 2},
               {"decoder_sparse_step", 2},
               {"router_dtype", "float32"},
               {"moe_token_dropout", 0.2},
               {"moe_eval_capacity_token_fraction", 1.0},
               {"second_expert_policy", "all"},
               {"router_aux_loss_coef", 0.001}});
  return {{"tiny", tiny}};
}
}  // namespace

void register_builtin_models() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_model_type("llama", [](const nlohmann::json& config) -> std::unique_ptr<CausalLM> {
      uint64_t seed = config.value("__seed", uint64_t{0});
      return std::make_unique<LlamaModel>(LlamaConfig::from_json(config), seed);
    });
    register_model_presets("llama", llama_presets());
    register_model_type("hgrn_bit", [](const nlohmann::json& config) -> std::unique_ptr<CausalLM> {
      return std::make_unique<HgrnBitModel>(HgrnBitConfig::from_json(config), config.value("__seed", uint64_t{0}));
    });
    register_model_presets("hgrn_bit", hgrn_bit_presets());
    register_model_type("mamba2", [](const nlohmann::json& config) -> std::unique_ptr<CausalLM> {
      return std::make_unique<Mamba2Model>(Mamba2Config::from_json(config), config.value("__seed", uint64_t{0}));
    });
    register_model_presets("mamba2", mamba2_presets());
    register_layout_loader(load_mamba2_original_layout);  // state-spaces/mamba2-* releases
    // Encoder-decoders have their own registry (models/seq2seq.h); only their sizes are here.
    register_model_presets("m2m_100", m2m100_presets());
    register_model_presets("nllb-moe", nllb_moe_presets());
  });
}

}  // namespace tessera::models
