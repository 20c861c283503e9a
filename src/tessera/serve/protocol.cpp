#include "tessera/serve/protocol.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace tessera::serve {

namespace {

using nlohmann::json;

[[noreturn]] void invalid(const std::string& param, const std::string& message) {
  throw ApiError(400, param.empty() ? message : param + ": " + message, param);
}

std::string type_name(const json& value) {
  return value.is_number_integer() ? "integer" : value.type_name();
}

json parse_object(const std::string& body) {
  // A depth limit keeps a hostile body of nested brackets from exhausting the stack.
  constexpr int kMaxDepth = 64;
  int depth = 0;
  bool too_deep = false;
  json::parser_callback_t guard = [&](int d, json::parse_event_t event, json&) {
    if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) {
      depth = d;
      if (d > kMaxDepth) too_deep = true;
    }
    return true;
  };
  json parsed = json::parse(body, guard, /*allow_exceptions=*/false);
  if (too_deep) invalid("", "request body nests deeper than 64 levels");
  if (parsed.is_discarded()) invalid("", "request body is not valid JSON");
  if (!parsed.is_object()) invalid("", "request body must be a JSON object");
  return parsed;
}

const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

double number_in(const json& body, const char* name, double fallback, double lo, double hi) {
  const json* value = field(body, name);
  if (!value) return fallback;
  if (!value->is_number()) invalid(name, "expected a number, got " + type_name(*value));
  double v = value->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) {
    invalid(name, fmt::format("{} is outside [{}, {}]", value->dump(), lo, hi));
  }
  return v;
}

std::optional<int64_t> integer_in(const json& body, const char* name, int64_t lo, int64_t hi) {
  const json* value = field(body, name);
  if (!value) return std::nullopt;
  if (!value->is_number_integer()) {
    // 3.0 is an integer to JavaScript clients.
    if (value->is_number_float()) {
      double v = value->get<double>();
      if (std::isfinite(v) && v == std::floor(v) && std::abs(v) < 9e15) {
        auto i = static_cast<int64_t>(v);
        if (i < lo || i > hi) invalid(name, fmt::format("{} is outside [{}, {}]", i, lo, hi));
        return i;
      }
    }
    invalid(name, "expected an integer, got " + type_name(*value));
  }
  if (value->is_number_unsigned() && value->get<uint64_t>() > static_cast<uint64_t>(hi)) {
    invalid(name, fmt::format("{} is outside [{}, {}]", value->dump(), lo, hi));
  }
  int64_t v = value->get<int64_t>();
  if (v < lo || v > hi) invalid(name, fmt::format("{} is outside [{}, {}]", v, lo, hi));
  return v;
}

bool boolean_in(const json& body, const char* name, bool fallback) {
  const json* value = field(body, name);
  if (!value) return fallback;
  if (!value->is_boolean()) invalid(name, "expected a boolean, got " + type_name(*value));
  return value->get<bool>();
}

std::string string_in(const json& body, const char* name) {
  const json* value = field(body, name);
  if (!value) return {};
  if (!value->is_string()) invalid(name, "expected a string, got " + type_name(*value));
  return value->get<std::string>();
}

std::vector<int32_t> token_ids(const json& value, const std::string& param,
                               const RequestLimits& limits) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < value.size(); ++i) {
    const json& id = value[i];
    std::string where = fmt::format("{}[{}]", param, i);
    if (!id.is_number_integer()) invalid(where, "expected a token id, got " + type_name(id));
    int64_t v = id.get<int64_t>();
    if (v < 0 || (limits.vocab_size > 0 && v >= limits.vocab_size) ||
        v > std::numeric_limits<int32_t>::max()) {
      invalid(where, fmt::format("token id {} is outside the vocabulary", v));
    }
    ids.push_back(static_cast<int32_t>(v));
  }
  return ids;
}

ResponseFormat response_format_in(const json& body) {
  ResponseFormat format;
  const json* value = field(body, "response_format");
  if (!value) return format;
  if (!value->is_object()) invalid("response_format", "expected an object");
  std::string type = string_in(*value, "type");
  if (type == "text" || type.empty()) return format;
  if (type == "json_object") {
    format.kind = ResponseFormatKind::json_object;
    return format;
  }
  if (type != "json_schema") {
    invalid("response_format.type", "'" + type + "' is not text, json_object or json_schema");
  }
  format.kind = ResponseFormatKind::json_schema;
  const json* spec = field(*value, "json_schema");
  if (!spec || !spec->is_object()) {
    invalid("response_format.json_schema", "expected an object with a 'schema'");
  }
  format.name = string_in(*spec, "name");
  const json* schema = field(*spec, "schema");
  if (!schema) invalid("response_format.json_schema.schema", "missing");
  if (!schema->is_object() && !schema->is_boolean()) {
    invalid("response_format.json_schema.schema", "expected a JSON-schema object");
  }
  format.schema = *schema;
  return format;
}

void parse_sampling(const json& body, const RequestLimits& limits, SamplingRequest& out,
                    bool chat) {
  out.model = string_in(body, "model");
  out.max_tokens = integer_in(body, "max_tokens", 0, limits.max_tokens);
  if (auto v = integer_in(body, "max_completion_tokens", 0, limits.max_tokens)) out.max_tokens = v;
  out.temperature = number_in(body, "temperature", 1.0, 0.0, 2.0);
  out.top_p = number_in(body, "top_p", 1.0, 0.0, 1.0);
  if (out.top_p == 0.0) out.top_p = std::numeric_limits<double>::min();  // "only the top token"
  out.top_k = integer_in(body, "top_k", 0, 1'000'000).value_or(0);
  out.min_p = number_in(body, "min_p", 0.0, 0.0, 1.0);
  out.presence_penalty = number_in(body, "presence_penalty", 0.0, -2.0, 2.0);
  out.frequency_penalty = number_in(body, "frequency_penalty", 0.0, -2.0, 2.0);
  out.repetition_penalty = number_in(body, "repetition_penalty", 1.0, 0.01, 10.0);
  out.n = static_cast<int>(integer_in(body, "n", 1, limits.max_n).value_or(1));
  out.seed = integer_in(body, "seed", std::numeric_limits<int64_t>::min(),
                        std::numeric_limits<int64_t>::max());
  out.stream = boolean_in(body, "stream", false);
  if (const json* options = field(body, "stream_options")) {
    if (!options->is_object()) invalid("stream_options", "expected an object");
    out.include_usage = boolean_in(*options, "include_usage", false);
  }
  if (const json* stop = field(body, "stop")) {
    if (stop->is_string()) {
      out.stop.push_back(stop->get<std::string>());
    } else if (stop->is_array()) {
      if (static_cast<int>(stop->size()) > limits.max_stop) {
        invalid("stop", fmt::format("at most {} stop sequences", limits.max_stop));
      }
      for (size_t i = 0; i < stop->size(); ++i) {
        if (!(*stop)[i].is_string()) invalid(fmt::format("stop[{}]", i), "expected a string");
        out.stop.push_back((*stop)[i].get<std::string>());
      }
    } else {
      invalid("stop", "expected a string or an array of strings");
    }
    for (const auto& s : out.stop) {
      if (s.empty()) invalid("stop", "stop sequences must not be empty");
    }
  }
  if (const json* bias = field(body, "logit_bias")) {
    if (!bias->is_object()) invalid("logit_bias", "expected an object of token id -> bias");
    for (const auto& [key, value] : bias->items()) {
      std::string where = "logit_bias." + key;
      size_t used = 0;
      long long id = -1;
      try {
        id = std::stoll(key, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != key.size() || key.empty() || id < 0 ||
          (limits.vocab_size > 0 && id >= limits.vocab_size) ||
          id > std::numeric_limits<int32_t>::max()) {
        invalid(where, "the key must be a token id inside the vocabulary");
      }
      if (!value.is_number() || !std::isfinite(value.get<double>()) ||
          std::abs(value.get<double>()) > 100) {
        invalid(where, "the bias must be a number in [-100, 100]");
      }
      out.logit_bias[static_cast<int32_t>(id)] = value.get<double>();
    }
  }
  if (chat) {
    bool logprobs = boolean_in(body, "logprobs", false);
    auto top = integer_in(body, "top_logprobs", 0, limits.max_top_logprobs);
    if (top && !logprobs) invalid("top_logprobs", "requires logprobs: true");
    out.top_logprobs = logprobs ? static_cast<int>(top.value_or(0)) : -1;
  } else {
    // Completions: `logprobs` is the number of alternatives (0..5).
    auto top = integer_in(body, "logprobs", 0, 5);
    out.top_logprobs = top ? static_cast<int>(*top) : -1;
  }
  out.response_format = response_format_in(body);
  for (const char* unsupported : {"tools", "functions", "tool_choice", "function_call", "audio"}) {
    const json* value = field(body, unsupported);
    if (value && !(value->is_array() && value->empty())) {
      invalid(unsupported, "is not supported by this server");
    }
  }
}

std::string message_content(const json& content, const std::string& where) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) invalid(where, "expected a string or an array of text parts");
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    std::string part_where = fmt::format("{}[{}]", where, i);
    if (!part.is_object()) invalid(part_where, "expected an object");
    std::string type = string_in(part, "type");
    if (type != "text") invalid(part_where + ".type", "only 'text' parts are supported");
    const json* value = field(part, "text");
    if (!value || !value->is_string()) invalid(part_where + ".text", "expected a string");
    text += value->get<std::string>();
  }
  return text;
}

std::vector<Prompt> prompts_in(const json& value, const std::string& param,
                               const RequestLimits& limits) {
  std::vector<Prompt> prompts;
  auto text_prompt = [](const std::string& text) { return Prompt{text, {}, false}; };
  if (value.is_string()) return {text_prompt(value.get<std::string>())};
  if (!value.is_array() || value.empty()) {
    invalid(param, "expected a string, an array of strings or an array of token ids");
  }
  if (static_cast<int64_t>(value.size()) > limits.max_inputs) {
    invalid(param, fmt::format("at most {} inputs per request", limits.max_inputs));
  }
  if (value[0].is_number_integer()) {
    return {Prompt{{}, token_ids(value, param, limits), true}};
  }
  for (size_t i = 0; i < value.size(); ++i) {
    std::string where = fmt::format("{}[{}]", param, i);
    if (value[i].is_string()) {
      prompts.push_back(text_prompt(value[i].get<std::string>()));
    } else if (value[i].is_array() && !value[i].empty()) {
      prompts.push_back(Prompt{{}, token_ids(value[i], where, limits), true});
    } else {
      invalid(where, "expected a string or a non-empty array of token ids");
    }
  }
  return prompts;
}

}  // namespace

ApiError::ApiError(int status, std::string message, std::string param, std::string type,
                   std::string code)
    : std::runtime_error(std::move(message)),
      status_(status),
      param_(std::move(param)),
      type_(std::move(type)),
      code_(std::move(code)) {}

nlohmann::json ApiError::to_json() const {
  return error_body(what(), type_, param_, code_);
}

nlohmann::json error_body(const std::string& message, const std::string& type,
                          const std::string& param, const std::string& code) {
  return {{"error",
           {{"message", message},
            {"type", type},
            {"param", param.empty() ? json(nullptr) : json(param)},
            {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

ChatCompletionRequest parse_chat_request(const std::string& body, const RequestLimits& limits) {
  json parsed = parse_object(body);
  ChatCompletionRequest request;
  parse_sampling(parsed, limits, request, /*chat=*/true);
  const json* messages = field(parsed, "messages");
  if (!messages) invalid("messages", "missing");
  if (!messages->is_array() || messages->empty()) invalid("messages", "expected a non-empty array");
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& message = (*messages)[i];
    std::string where = fmt::format("messages[{}]", i);
    if (!message.is_object()) invalid(where, "expected an object");
    const json* role = field(message, "role");
    if (!role || !role->is_string()) invalid(where + ".role", "missing or not a string");
    std::string name = role->get<std::string>();
    if (name == "developer") name = "system";  // OpenAI's newer name for the system role
    if (name != "system" && name != "user" && name != "assistant") {
      invalid(where + ".role", "unknown role '" + role->get<std::string>() +
                                   "' (expected system, developer, user or assistant)");
    }
    const json* content = field(message, "content");
    std::string text;
    if (content) {
      text = message_content(*content, where + ".content");
    } else if (name != "assistant") {
      invalid(where + ".content", "missing");
    }
    request.messages.push_back({name, text});
  }
  return request;
}

CompletionRequest parse_completion_request(const std::string& body, const RequestLimits& limits) {
  json parsed = parse_object(body);
  CompletionRequest request;
  parse_sampling(parsed, limits, request, /*chat=*/false);
  const json* prompt = field(parsed, "prompt");
  if (!prompt) invalid("prompt", "missing");
  request.prompts = prompts_in(*prompt, "prompt", limits);
  request.echo = boolean_in(parsed, "echo", false);
  request.suffix = string_in(parsed, "suffix");
  if (!request.suffix.empty()) invalid("suffix", "fill-in-the-middle is not supported");
  if (static_cast<int64_t>(request.prompts.size()) * request.n > limits.max_inputs) {
    invalid("n", fmt::format("prompts x n exceeds {} choices", limits.max_inputs));
  }
  return request;
}

EmbeddingRequest parse_embedding_request(const std::string& body, const RequestLimits& limits) {
  json parsed = parse_object(body);
  EmbeddingRequest request;
  request.model = string_in(parsed, "model");
  const json* input = field(parsed, "input");
  if (!input) invalid("input", "missing");
  request.inputs = prompts_in(*input, "input", limits);
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    if (!request.inputs[i].is_ids && request.inputs[i].text.empty()) {
      invalid(fmt::format("input[{}]", i), "must not be empty");
    }
  }
  std::string format = string_in(parsed, "encoding_format");
  if (!format.empty() && format != "float" && format != "base64") {
    invalid("encoding_format", "'" + format + "' is not float or base64");
  }
  request.base64 = format == "base64";
  request.dimensions = integer_in(parsed, "dimensions", 1, 1 << 20);
  return request;
}

}  // namespace tessera::serve
