#pragma once
// Reading config.json values with the errors every architecture gives: a missing required key
// or a value of the wrong type is a BadInput error naming the key (and showing the value).
#include <nlohmann/json.hpp>

#include "tessera/core/error.h"

namespace tessera::models {

// The value of `key`, or `fallback` when the key is absent or null.
template <typename T>
T config_value_or(const nlohmann::json& config, const char* key, T fallback) {
  if (!config.contains(key) || config[key].is_null()) return fallback;
  try {
    return config[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    throw bad_input("config.json: \"{}\" has the wrong type ({})", key, config[key].dump());
  }
}

// The value of `key`, which must be present and not null.
template <typename T>
T config_require(const nlohmann::json& config, const char* key) {
  TESSERA_CHECK_INPUT(config.contains(key) && !config[key].is_null(), "config.json: missing \"{}\"", key);
  return config_value_or<T>(config, key, T{});
}

}  // namespace tessera::models
