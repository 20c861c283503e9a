#include "tessera/text/post_processor.h"

#include "tessera/text/json_fields.h"

namespace tessera::text {
namespace {

using namespace json_fields;

// BertProcessing / RobertaProcessing store tokens as ["[CLS]", 101].
int32_t id_of_token_pair(const nlohmann::json& pair, std::string_view where, std::string_view key) {
  TESSERA_CHECK_INPUT(pair.is_array() && pair.size() == 2 && pair[1].is_number_integer(),
                      "{}: '{}' must be [token, id]", where, key);
  return pair[1].get<int32_t>();
}

SpecialTokenFrame template_frame(const nlohmann::json& spec, std::string_view where) {
  const auto& single = require(spec, "single", where);
  TESSERA_CHECK_INPUT(single.is_array(), "{}: 'single' must be a list", where);
  const auto& special_tokens =
      spec.contains("special_tokens") ? spec["special_tokens"] : nlohmann::json::object();
  SpecialTokenFrame frame;
  bool seen_sequence = false;
  for (const auto& item : single) {
    if (item.contains("Sequence")) {
      TESSERA_CHECK_INPUT(!seen_sequence, "{}: 'single' names the sequence twice", where);
      seen_sequence = true;
      continue;
    }
    TESSERA_CHECK_INPUT(item.contains("SpecialToken"),
                        "{}: 'single' items must be SpecialToken or Sequence", where);
    const std::string name = require_string(item["SpecialToken"], "id", where);
    TESSERA_CHECK_INPUT(special_tokens.contains(name),
                        "{}: special token '{}' is not defined in 'special_tokens'", where, name);
    const auto& ids = require(special_tokens[name], "ids", where);
    TESSERA_CHECK_INPUT(ids.is_array(), "{}: special token '{}': 'ids' must be a list", where,
                        name);
    auto& target = seen_sequence ? frame.suffix : frame.prefix;
    for (const auto& id : ids) {
      TESSERA_CHECK_INPUT(id.is_number_integer(), "{}: special token '{}': ids must be integers",
                          where, name);
      target.push_back(id.get<int32_t>());
    }
  }
  return frame;
}

}  // namespace

SpecialTokenFrame post_processor_from_json(const nlohmann::json& spec) {
  if (spec.is_null()) return {};
  const std::string type = type_of(spec, "post_processor");
  const std::string where = "post_processor " + type;
  if (type == "ByteLevel") return {};  // only adjusts offsets
  if (type == "TemplateProcessing") return template_frame(spec, where);
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    return {{id_of_token_pair(require(spec, "cls", where), where, "cls")},
            {id_of_token_pair(require(spec, "sep", where), where, "sep")}};
  }
  if (type == "Sequence") {
    const auto& list = require(spec, "processors", where);
    TESSERA_CHECK_INPUT(list.is_array(), "{}: 'processors' must be a list", where);
    SpecialTokenFrame combined;
    for (const auto& item : list) {
      const SpecialTokenFrame inner = post_processor_from_json(item);
      combined.prefix.insert(combined.prefix.begin(), inner.prefix.begin(), inner.prefix.end());
      combined.suffix.insert(combined.suffix.end(), inner.suffix.begin(), inner.suffix.end());
    }
    return combined;
  }
  throw bad_input(
      "post_processor type '{}' is not supported (supported: TemplateProcessing, "
      "BertProcessing, RobertaProcessing, ByteLevel, Sequence)",
      type);
}

}  // namespace tessera::text
