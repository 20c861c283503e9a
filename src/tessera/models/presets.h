#pragma once
// Named model sizes for `tessera train --preset`, per architecture, as config.json objects
// with upstream keys (vocab_size and max_position_embeddings are filled in by the caller).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::models {

// BadInput listing the known presets when `preset` is unknown for `model_type`.
nlohmann::json preset_config(const std::string& model_type, const std::string& preset);
std::vector<std::string> preset_names(const std::string& model_type);

}  // namespace tessera::models
