#pragma once
// Reading tokenizer.json components: every missing or mistyped field becomes one BadInput
// line naming the component and the field, e.g. "pre_tokenizer Split: field 'pattern' is
// missing".
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "tessera/core/error.h"

namespace tessera::text::json_fields {

using nlohmann::json;

inline const json& require(const json& object, std::string_view key, std::string_view where) {
  TESSERA_CHECK_INPUT(object.is_object(), "{}: expected a JSON object", where);
  const auto it = object.find(key);
  TESSERA_CHECK_INPUT(it != object.end(), "{}: field '{}' is missing", where, key);
  return *it;
}

inline std::string require_string(const json& object, std::string_view key,
                                  std::string_view where) {
  const json& value = require(object, key, where);
  TESSERA_CHECK_INPUT(value.is_string(), "{}: field '{}' must be a string", where, key);
  return value.get<std::string>();
}

inline std::string optional_string(const json& object, std::string_view key, std::string_view where,
                                   std::string fallback = {}) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  TESSERA_CHECK_INPUT(it->is_string(), "{}: field '{}' must be a string", where, key);
  return it->get<std::string>();
}

inline bool optional_bool(const json& object, std::string_view key, std::string_view where,
                          bool fallback) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  TESSERA_CHECK_INPUT(it->is_boolean(), "{}: field '{}' must be true or false", where, key);
  return it->get<bool>();
}

inline int64_t require_integer(const json& object, std::string_view key, std::string_view where) {
  const json& value = require(object, key, where);
  TESSERA_CHECK_INPUT(value.is_number_integer(), "{}: field '{}' must be an integer", where, key);
  return value.get<int64_t>();
}

inline int64_t optional_integer(const json& object, std::string_view key, std::string_view where,
                                int64_t fallback) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  TESSERA_CHECK_INPUT(it->is_number_integer(), "{}: field '{}' must be an integer", where, key);
  return it->get<int64_t>();
}

// The "type" of a component object.
inline std::string type_of(const json& object, std::string_view where) {
  return require_string(object, "type", where);
}

}  // namespace tessera::text::json_fields

namespace tessera::text {
class Regex;
// {"String": "..."} (a literal) or {"Regex": "..."} (an Oniguruma-style pattern).
Regex pattern_from_json(const nlohmann::json& pattern, std::string_view where);
}  // namespace tessera::text
