#pragma once
// Named model sizes for `tessera train --preset`, per architecture, as config.json objects
// with upstream keys (vocab_size and max_position_embeddings are filled in by the caller).
// Each architecture registers its own table next to its factory (registry_builtin.cpp), so a
// new architecture adds presets without touching the others.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::models {

// Registers (or replaces) the presets of `model_type`: name -> complete config.json object
// (model_type included; vocab_size and max_position_embeddings are set by the caller).
void register_model_presets(const std::string& model_type,
                            std::map<std::string, nlohmann::json> presets);

// BadInput listing the known presets when `preset` is unknown for `model_type`.
nlohmann::json preset_config(const std::string& model_type, const std::string& preset);
std::vector<std::string> preset_names(const std::string& model_type);

}  // namespace tessera::models
