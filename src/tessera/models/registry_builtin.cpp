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
  });
}

}  // namespace tessera::models
