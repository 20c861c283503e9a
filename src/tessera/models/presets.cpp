#include "tessera/models/presets.h"

#include <map>

#include "tessera/core/error.h"

namespace tessera::models {

namespace {
// Llama shapes: parameters excluding embeddings are about 12 * layers * hidden^2.
const std::map<std::string, nlohmann::json>& llama_presets() {
  static const std::map<std::string, nlohmann::json> presets = {
      {"tiny", {{"hidden_size", 128}, {"intermediate_size", 384}, {"num_hidden_layers", 4},
                {"num_attention_heads", 4}, {"num_key_value_heads", 2}}},
      {"small", {{"hidden_size", 256}, {"intermediate_size", 768}, {"num_hidden_layers", 6},
                 {"num_attention_heads", 8}, {"num_key_value_heads", 4}}},
      {"base", {{"hidden_size", 512}, {"intermediate_size", 1536}, {"num_hidden_layers", 8},
                {"num_attention_heads", 8}, {"num_key_value_heads", 4}}},
      {"125m", {{"hidden_size", 768}, {"intermediate_size", 2048}, {"num_hidden_layers", 12},
                {"num_attention_heads", 12}, {"num_key_value_heads", 12}}},
  };
  return presets;
}
}  // namespace

nlohmann::json preset_config(const std::string& model_type, const std::string& preset) {
  TESSERA_CHECK_INPUT(model_type == "llama", "no presets for model_type \"{}\" (llama has them)",
                      model_type);
  auto it = llama_presets().find(preset);
  if (it == llama_presets().end()) {
    std::string known;
    for (const auto& name : preset_names(model_type)) known += (known.empty() ? "" : ", ") + name;
    throw bad_input("unknown preset \"{}\" for llama (known: {})", preset, known);
  }
  nlohmann::json config = it->second;
  config["model_type"] = "llama";
  config["rms_norm_eps"] = 1e-5;
  config["rope_theta"] = 10000.0;
  config["tie_word_embeddings"] = true;
  config["initializer_range"] = 0.02;
  return config;
}

std::vector<std::string> preset_names(const std::string& model_type) {
  std::vector<std::string> names;
  if (model_type == "llama") {
    for (const auto& [name, config] : llama_presets()) names.push_back(name);
  }
  return names;
}

}  // namespace tessera::models
