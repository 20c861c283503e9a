#pragma once
// An independent JSON-schema check (the keywords constrained decoding supports), written
// directly from the specification's meaning rather than from the automaton, so that the
// tests compare two implementations instead of one with itself.
#include <string>

#include <nlohmann/json.hpp>

namespace tessera::serve::testing {

// Returns "" when `value` satisfies `schema`, else a description of the first violation.
inline std::string schema_violation(const nlohmann::json& value, const nlohmann::json& schema,
                                    const std::string& path = "$") {
  using nlohmann::json;
  if (schema.is_boolean()) return schema.get<bool>() ? "" : path + ": schema false";
  if (schema.contains("const") && value != schema["const"]) return path + ": not the const";
  if (schema.contains("enum")) {
    for (const json& option : schema["enum"]) {
      if (option == value) return "";
    }
    return path + ": not in the enum";
  }
  if (schema.contains("type")) {
    json types = schema["type"].is_array() ? schema["type"] : json::array({schema["type"]});
    bool matched = false;
    for (const json& t : types) {
      std::string name = t.get<std::string>();
      matched |= (name == "object" && value.is_object()) || (name == "array" && value.is_array()) ||
                 (name == "string" && value.is_string()) ||
                 (name == "boolean" && value.is_boolean()) || (name == "null" && value.is_null()) ||
                 (name == "number" && value.is_number()) ||
                 (name == "integer" && value.is_number_integer());
    }
    if (!matched) return path + ": wrong type " + value.type_name();
  }
  if (value.is_string()) {
    // Length in characters (code points), not bytes.
    size_t length = 0;
    for (unsigned char c : value.get<std::string>()) length += (c & 0xC0) != 0x80;
    if (schema.contains("minLength") && length < schema["minLength"].get<size_t>())
      return path + ": too short";
    if (schema.contains("maxLength") && length > schema["maxLength"].get<size_t>())
      return path + ": too long";
  }
  if (value.is_array()) {
    if (schema.contains("minItems") && value.size() < schema["minItems"].get<size_t>())
      return path + ": too few items";
    if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<size_t>())
      return path + ": too many items";
    if (schema.contains("items")) {
      for (size_t i = 0; i < value.size(); ++i) {
        std::string v =
            schema_violation(value[i], schema["items"], path + "[" + std::to_string(i) + "]");
        if (!v.empty()) return v;
      }
    }
  }
  if (value.is_object()) {
    json properties = schema.value("properties", json::object());
    for (const json& name : schema.value("required", json::array())) {
      if (!value.contains(name.get<std::string>()))
        return path + ": missing " + name.get<std::string>();
    }
    for (const auto& [key, item] : value.items()) {
      if (properties.contains(key)) {
        std::string v = schema_violation(item, properties[key], path + "." + key);
        if (!v.empty()) return v;
      } else if (schema.contains("additionalProperties")) {
        const json& extra = schema["additionalProperties"];
        if (extra.is_boolean() && !extra.get<bool>()) return path + ": unexpected key " + key;
        std::string v = schema_violation(item, extra, path + "." + key);
        if (!v.empty()) return v;
      }
    }
  }
  return "";
}

}  // namespace tessera::serve::testing
