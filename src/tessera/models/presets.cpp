#include "tessera/models/presets.h"

#include <mutex>

#include "tessera/core/error.h"

namespace tessera::models {

void register_builtin_models();  // models/registry_builtin.cpp

namespace {
struct PresetRegistry {
  std::mutex mutex;
  std::map<std::string, std::map<std::string, nlohmann::json>> by_model_type;
};

PresetRegistry& preset_registry() {
  static PresetRegistry registry;
  return registry;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string joined;
  for (const auto& name : names) joined += (joined.empty() ? "" : ", ") + name;
  return joined;
}
}  // namespace

void register_model_presets(const std::string& model_type,
                            std::map<std::string, nlohmann::json> presets) {
  auto& registry = preset_registry();
  std::lock_guard lock(registry.mutex);
  registry.by_model_type[model_type] = std::move(presets);
}

nlohmann::json preset_config(const std::string& model_type, const std::string& preset) {
  register_builtin_models();
  auto& registry = preset_registry();
  std::lock_guard lock(registry.mutex);
  auto type_it = registry.by_model_type.find(model_type);
  if (type_it == registry.by_model_type.end()) {
    std::vector<std::string> types;
    for (const auto& [name, presets] : registry.by_model_type) types.push_back(name);
    throw bad_input("no presets for model_type \"{}\" (these have presets: {})", model_type,
                    join_names(types));
  }
  auto it = type_it->second.find(preset);
  if (it == type_it->second.end()) {
    std::vector<std::string> known;
    for (const auto& [name, config] : type_it->second) known.push_back(name);
    throw bad_input("unknown preset \"{}\" for {} (known: {})", preset, model_type,
                    join_names(known));
  }
  nlohmann::json config = it->second;
  config["model_type"] = model_type;
  return config;
}

std::vector<std::string> preset_names(const std::string& model_type) {
  register_builtin_models();
  auto& registry = preset_registry();
  std::lock_guard lock(registry.mutex);
  std::vector<std::string> names;
  auto type_it = registry.by_model_type.find(model_type);
  if (type_it != registry.by_model_type.end()) {
    for (const auto& [name, config] : type_it->second) names.push_back(name);
  }
  return names;
}

}  // namespace tessera::models
