#include "tessera/serve/json_grammar.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "tessera/serve/protocol.h"

namespace tessera::serve {

namespace {

using nlohmann::json;
using Kind = SchemaNode::Kind;

constexpr size_t kMaxDepth = 64;     // frames on the matcher's stack
constexpr int kMaxSchemaDepth = 32;  // nesting of the schema itself
constexpr uint32_t kMaxIntegerDigits = 16;
constexpr uint32_t kMaxFractionDigits = 16;
constexpr uint32_t kMaxExponentDigits = 2;  // 16 digits and e99 stay inside a double

// Object phases.
enum : uint8_t { kOpen, kKey, kColon, kValueStart, kInValue, kAfterValue, kComma };
// String phases.
enum : uint8_t { kChars, kEscape, kUnicode, kUtf8 };
// Number phases (JSON's number grammar).
enum : uint8_t { kNumStart, kMinus, kZero, kInt, kDot, kFrac, kExp, kExpSign, kExpDigits };

[[noreturn]] void unsupported(const std::string& path, const std::string& message) {
  throw ApiError(400, "response_format.json_schema.schema" + path + ": " + message,
                 "response_format");
}

bool is_digit(uint8_t b) {
  return b >= '0' && b <= '9';
}
bool is_hex(uint8_t b) {
  return is_digit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
}

int64_t count_keyword(const json& schema, const char* name, const std::string& path) {
  auto it = schema.find(name);
  if (it == schema.end()) return -1;
  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
    unsupported(path + "." + name, "expected a non-negative integer");
  }
  return std::min<int64_t>(it->get<int64_t>(), 1 << 30);
}

uint64_t all_keys_mask(size_t n) {
  return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
}

}  // namespace

JsonGrammar::JsonGrammar() {
  static std::atomic<uint64_t> next_id{1};
  id_ = next_id++;
  any_ = make(Kind::any);
  any_string_ = make(Kind::string);
  any_number_ = make(Kind::number);
  any_literals_ = make(Kind::literals);
  any_literals_->literals = {"false", "null", "true"};
  any_array_ = make(Kind::array);
  any_array_->items = any_;
  any_object_ = make(Kind::object);
  any_object_->free_keys = true;
  any_object_->free_values = any_;
}

SchemaNode* JsonGrammar::make(Kind kind) {
  nodes_.push_back(std::make_unique<SchemaNode>());
  nodes_.back()->kind = kind;
  return nodes_.back().get();
}

std::shared_ptr<const JsonGrammar> JsonGrammar::any_object() {
  std::shared_ptr<JsonGrammar> grammar(new JsonGrammar());
  grammar->root_ = grammar->any_object_;
  return grammar;
}

std::shared_ptr<const JsonGrammar> JsonGrammar::from_schema(const json& schema) {
  std::shared_ptr<JsonGrammar> grammar(new JsonGrammar());
  grammar->root_ = grammar->compile(schema, "", 0);
  return grammar;
}

const SchemaNode* JsonGrammar::compile(const json& schema, const std::string& path, int depth) {
  if (depth > kMaxSchemaDepth) unsupported(path, "the schema nests deeper than 32 levels");
  if (schema.is_boolean()) {
    if (schema.get<bool>()) return any_;
    unsupported(path, "the schema `false` admits no value");
  }
  if (!schema.is_object()) unsupported(path, "expected a schema object");
  static const char* const kRefused[] = {"$ref",
                                         "anyOf",
                                         "oneOf",
                                         "allOf",
                                         "not",
                                         "if",
                                         "then",
                                         "else",
                                         "pattern",
                                         "patternProperties",
                                         "propertyNames",
                                         "minimum",
                                         "maximum",
                                         "exclusiveMinimum",
                                         "exclusiveMaximum",
                                         "multipleOf",
                                         "uniqueItems",
                                         "prefixItems",
                                         "contains",
                                         "minContains",
                                         "maxContains",
                                         "minProperties",
                                         "maxProperties",
                                         "dependentRequired",
                                         "dependentSchemas",
                                         "unevaluatedProperties",
                                         "unevaluatedItems",
                                         "additionalItems"};
  for (const char* keyword : kRefused) {
    if (schema.contains(keyword)) {
      unsupported(path + "." + keyword, "is not supported by constrained decoding");
    }
  }
  if (schema.contains("const") || schema.contains("enum")) {
    SchemaNode* node = make(Kind::literals);
    if (schema.contains("const")) {
      node->literals.push_back(dump_json(schema["const"]));
    } else {
      const json& values = schema["enum"];
      if (!values.is_array() || values.empty())
        unsupported(path + ".enum", "expected a non-empty array");
      for (const json& value : values) node->literals.push_back(dump_json(value));
    }
    std::sort(node->literals.begin(), node->literals.end());
    node->literals.erase(std::unique(node->literals.begin(), node->literals.end()),
                         node->literals.end());
    return node;
  }
  std::vector<std::string> types;
  if (auto it = schema.find("type"); it != schema.end()) {
    if (it->is_string()) {
      types.push_back(it->get<std::string>());
    } else if (it->is_array() && !it->empty()) {
      for (const json& t : *it) {
        if (!t.is_string()) unsupported(path + ".type", "expected type names");
        types.push_back(t.get<std::string>());
      }
    } else {
      unsupported(path + ".type", "expected a type name or a list of them");
    }
  } else if (schema.contains("properties")) {
    types = {"object"};
  } else if (schema.contains("items")) {
    types = {"array"};
  } else {
    return any_;
  }
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  // number admits every integer, and the two start with the same bytes.
  if (std::find(types.begin(), types.end(), "number") != types.end()) {
    types.erase(std::remove(types.begin(), types.end(), "integer"), types.end());
  }
  std::vector<const SchemaNode*> alternatives;
  for (const std::string& type : types) {
    if (type == "string") {
      SchemaNode* node = make(Kind::string);
      node->min_length = std::max<int64_t>(0, count_keyword(schema, "minLength", path));
      node->max_length = count_keyword(schema, "maxLength", path);
      if (node->max_length >= 0 && node->max_length < node->min_length) {
        unsupported(path, "maxLength is below minLength");
      }
      alternatives.push_back(node);
    } else if (type == "number" || type == "integer") {
      alternatives.push_back(make(type == "number" ? Kind::number : Kind::integer));
    } else if (type == "boolean" || type == "null") {
      SchemaNode* node = make(Kind::literals);
      node->literals = type == "null" ? std::vector<std::string>{"null"}
                                      : std::vector<std::string>{"false", "true"};
      alternatives.push_back(node);
    } else if (type == "array") {
      SchemaNode* node = make(Kind::array);
      node->items =
          schema.contains("items") ? compile(schema["items"], path + ".items", depth + 1) : any_;
      node->min_items = std::max<int64_t>(0, count_keyword(schema, "minItems", path));
      node->max_items = count_keyword(schema, "maxItems", path);
      if (node->max_items >= 0 && node->max_items < node->min_items) {
        unsupported(path, "maxItems is below minItems");
      }
      alternatives.push_back(node);
    } else if (type == "object") {
      SchemaNode* node = make(Kind::object);
      const json* properties = nullptr;
      if (auto it = schema.find("properties"); it != schema.end()) {
        if (!it->is_object()) unsupported(path + ".properties", "expected an object");
        if (!it->empty()) properties = &*it;
      }
      const json additional = schema.value("additionalProperties", json(true));
      std::vector<std::string> required;
      if (auto it = schema.find("required"); it != schema.end()) {
        if (!it->is_array()) unsupported(path + ".required", "expected an array of names");
        for (const json& name : *it) {
          if (!name.is_string()) unsupported(path + ".required", "expected an array of names");
          required.push_back(name.get<std::string>());
        }
      }
      if (properties) {
        // Only declared keys are generated, which every additionalProperties setting admits.
        if (properties->size() > 64) unsupported(path + ".properties", "more than 64 properties");
        std::vector<std::pair<std::string, const SchemaNode*>> entries;
        for (const auto& [name, sub] : properties->items()) {
          entries.emplace_back(dump_json(json(name)),
                               compile(sub, path + ".properties." + name, depth + 1));
        }
        std::sort(entries.begin(), entries.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (auto& [key, value] : entries) {
          node->keys.push_back(key);
          node->key_values.push_back(value);
        }
        for (const std::string& name : required) {
          auto it = std::find(node->keys.begin(), node->keys.end(), dump_json(json(name)));
          if (it == node->keys.end()) {
            unsupported(path + ".required", "'" + name + "' is not among the properties");
          }
          node->required_mask |= uint64_t{1} << (it - node->keys.begin());
        }
      } else if (!(additional.is_boolean() && !additional.get<bool>())) {
        if (!required.empty())
          unsupported(path + ".required", "names properties that are not declared");
        node->free_keys = true;
        node->free_values = additional.is_boolean()
                                ? any_
                                : compile(additional, path + ".additionalProperties", depth + 1);
      } else if (!required.empty()) {
        unsupported(path + ".required", "no property is allowed (additionalProperties: false)");
      }
      alternatives.push_back(node);
    } else {
      unsupported(path + ".type", "unknown type '" + type + "'");
    }
  }
  if (alternatives.size() == 1) return alternatives[0];
  SchemaNode* choice = make(Kind::choice);
  choice->alternatives = std::move(alternatives);
  return choice;
}

JsonMatcher::JsonMatcher(const JsonGrammar& grammar) : grammar_(&grammar) {
  stack_.reserve(8);
}

bool JsonMatcher::push(const SchemaNode* node, FrameKind kind, uint8_t phase) {
  if (stack_.size() >= kMaxDepth) return false;
  stack_.push_back(Frame{node, kind, phase, 0, 0, 0, 0, 0});
  return true;
}

bool JsonMatcher::start_value(const SchemaNode* node, uint8_t byte) {
  const JsonGrammar& g = *grammar_;
  switch (node->kind) {
    case Kind::any:
      if (byte == '{') return push(g.any_object_node(), FrameKind::object, kOpen);
      if (byte == '[') return push(g.any_array(), FrameKind::array, kOpen);
      if (byte == '"') return push(g.any_string(), FrameKind::string, kChars);
      if (byte == '-' || is_digit(byte)) return start_value(g.any_number(), byte);
      return start_value(g.any_literals(), byte);
    case Kind::object:
      return byte == '{' && push(node, FrameKind::object, kOpen);
    case Kind::array:
      return byte == '[' && push(node, FrameKind::array, kOpen);
    case Kind::string:
      return byte == '"' && push(node, FrameKind::string, kChars);
    case Kind::number:
    case Kind::integer:
      if (!(byte == '-' || is_digit(byte)) || !push(node, FrameKind::number, kNumStart))
        return false;
      return step_number(stack_.back(), byte) == Step::consumed;
    case Kind::literals: {
      if (!push(node, FrameKind::literal, 0)) return false;
      Frame& frame = stack_.back();
      frame.hi = static_cast<uint32_t>(node->literals.size());
      int r = step_literal(frame, byte, node->literals, 0);
      if (r < 0) {
        stack_.pop_back();
        return false;
      }
      if (r == 1) complete_top();
      return true;
    }
    case Kind::choice:
      for (const SchemaNode* alternative : node->alternatives) {
        if (start_value(alternative, byte)) return true;
      }
      return false;
  }
  return false;
}

int JsonMatcher::step_literal(Frame& frame, uint8_t byte, const std::vector<std::string>& texts,
                              uint64_t excluded) {
  uint32_t lo = UINT32_MAX, hi = 0;
  bool available = false;
  for (uint32_t i = frame.lo; i < frame.hi; ++i) {
    const std::string& text = texts[i];
    if (text.size() > frame.pos && static_cast<uint8_t>(text[frame.pos]) == byte) {
      lo = std::min(lo, i);
      hi = i + 1;
      if (i >= 64 || !(excluded >> i & 1)) available = true;
    }
  }
  if (!available) return -1;
  frame.lo = lo;
  frame.hi = hi;
  ++frame.pos;
  return hi - lo == 1 && texts[lo].size() == frame.pos ? 1 : 0;
}

JsonMatcher::Step JsonMatcher::step_string(Frame& f, uint8_t byte) {
  const SchemaNode& node = *f.node;
  auto room = [&] { return node.max_length < 0 || f.count < node.max_length; };
  switch (f.phase) {
    case kChars:
      if (byte == '"') return f.count >= node.min_length ? Step::consumed_closed : Step::rejected;
      if (byte < 0x20 || !room()) return Step::rejected;
      ++f.count;
      if (byte == '\\') {
        f.phase = kEscape;
      } else if (byte >= 0x80) {
        // UTF-8 as RFC 3629 defines it (no overlongs, no surrogates), so the text stays valid.
        if (byte >= 0xC2 && byte <= 0xDF) {
          f.pos = 1, f.lo = 0x80, f.hi = 0xBF;
        } else if (byte >= 0xE0 && byte <= 0xEF) {
          f.pos = 2;
          f.lo = byte == 0xE0 ? 0xA0 : 0x80;
          f.hi = byte == 0xED ? 0x9F : 0xBF;
        } else if (byte >= 0xF0 && byte <= 0xF4) {
          f.pos = 3;
          f.lo = byte == 0xF0 ? 0x90 : 0x80;
          f.hi = byte == 0xF4 ? 0x8F : 0xBF;
        } else {
          return Step::rejected;
        }
        f.phase = kUtf8;
      }
      return Step::consumed;
    case kUtf8:
      if (byte < f.lo || byte > f.hi) return Step::rejected;
      f.lo = 0x80, f.hi = 0xBF;
      if (--f.pos == 0) f.phase = kChars;
      return Step::consumed;
    case kEscape:
      if (byte == 'u') {
        f.phase = kUnicode;
        f.pos = 4;
        return Step::consumed;
      }
      if (std::strchr("\"\\/bfnrt", byte) == nullptr || byte == 0) return Step::rejected;
      f.phase = kChars;
      return Step::consumed;
    case kUnicode:
      // \uD800-\uDFFF would need a pair; strict parsers reject lone halves, so none are made.
      if (!is_hex(byte) || (f.pos == 4 && (byte == 'd' || byte == 'D'))) return Step::rejected;
      if (--f.pos == 0) f.phase = kChars;
      return Step::consumed;
  }
  return Step::rejected;
}

JsonMatcher::Step JsonMatcher::step_number(Frame& f, uint8_t byte) {
  const bool integer = f.node->kind == Kind::integer;
  const bool exponent = !integer && (byte == 'e' || byte == 'E');
  auto go = [&](uint8_t phase, uint32_t count) {
    f.phase = phase;
    f.count = count;
    return Step::consumed;
  };
  switch (f.phase) {
    case kNumStart:
      if (byte == '-') return go(kMinus, 0);
      [[fallthrough]];
    case kMinus:
      if (byte == '0') return go(kZero, 1);
      if (is_digit(byte)) return go(kInt, 1);
      return Step::rejected;
    case kZero:
    case kInt:
      if (f.phase == kInt && is_digit(byte) && f.count < kMaxIntegerDigits)
        return go(kInt, f.count + 1);
      if (byte == '.' && !integer) return go(kDot, 0);
      if (exponent) return go(kExp, 0);
      return Step::ended_before;
    case kDot:
      return is_digit(byte) ? go(kFrac, 1) : Step::rejected;
    case kFrac:
      if (is_digit(byte) && f.count < kMaxFractionDigits) return go(kFrac, f.count + 1);
      if (exponent) return go(kExp, 0);
      return Step::ended_before;
    case kExp:
      if (byte == '+' || byte == '-') return go(kExpSign, 0);
      [[fallthrough]];
    case kExpSign:
      return is_digit(byte) ? go(kExpDigits, 1) : Step::rejected;
    case kExpDigits:
      if (is_digit(byte) && f.count < kMaxExponentDigits) return go(kExpDigits, f.count + 1);
      return Step::ended_before;
  }
  return Step::rejected;
}

JsonMatcher::Step JsonMatcher::step_object(size_t index, uint8_t byte) {
  Frame& f = stack_[index];
  const SchemaNode& node = *f.node;
  const uint64_t all = all_keys_mask(node.keys.size());
  const bool required_present = (f.used & node.required_mask) == node.required_mask;
  auto begin_key = [&]() {
    if (node.free_keys) {
      f.phase = kKey;
      return push(grammar_->any_string(), FrameKind::string, kChars) ? Step::consumed
                                                                     : Step::rejected;
    }
    if ((f.used & all) == all) return Step::rejected;
    f.lo = 0;
    f.hi = static_cast<uint32_t>(node.keys.size());
    f.pos = 0;
    f.phase = kKey;
    return step_literal(f, byte, node.keys, f.used) < 0 ? Step::rejected : Step::consumed;
  };
  switch (f.phase) {
    case kOpen:
      if (byte == '}') return required_present ? Step::consumed_closed : Step::rejected;
      return byte == '"' ? begin_key() : Step::rejected;
    case kComma:
      return byte == '"' ? begin_key() : Step::rejected;
    case kKey: {
      int r = step_literal(f, byte, node.keys, f.used);
      if (r < 0) return Step::rejected;
      if (r == 1) {
        f.used |= uint64_t{1} << f.lo;
        f.phase = kColon;
      }
      return Step::consumed;
    }
    case kColon:
      if (byte != ':') return Step::rejected;
      f.phase = kValueStart;
      return Step::consumed;
    case kValueStart: {
      const SchemaNode* value = node.free_keys ? node.free_values : node.key_values[f.lo];
      f.phase = kInValue;
      if (start_value(value, byte)) return Step::consumed;
      stack_[index].phase = kValueStart;
      return Step::rejected;
    }
    case kAfterValue:
      if (byte == ',') {
        if (!node.free_keys && (f.used & all) == all) return Step::rejected;
        f.phase = kComma;
        return Step::consumed;
      }
      if (byte == '}') return required_present ? Step::consumed_closed : Step::rejected;
      return Step::rejected;
  }
  return Step::rejected;
}

JsonMatcher::Step JsonMatcher::step_array(size_t index, uint8_t byte) {
  Frame& f = stack_[index];
  const SchemaNode& node = *f.node;
  auto begin_item = [&](uint8_t restore) {
    if (node.max_items >= 0 && f.count >= node.max_items) return Step::rejected;
    f.phase = kInValue;
    if (start_value(node.items, byte)) return Step::consumed;
    stack_[index].phase = restore;
    return Step::rejected;
  };
  switch (f.phase) {
    case kOpen:
      if (byte == ']') return node.min_items == 0 ? Step::consumed_closed : Step::rejected;
      return begin_item(kOpen);
    case kComma:
      return begin_item(kComma);
    case kAfterValue:
      if (byte == ',') {
        if (node.max_items >= 0 && f.count >= node.max_items) return Step::rejected;
        f.phase = kComma;
        return Step::consumed;
      }
      if (byte == ']') return f.count >= node.min_items ? Step::consumed_closed : Step::rejected;
      return Step::rejected;
  }
  return Step::rejected;
}

JsonMatcher::Step JsonMatcher::step(size_t index, uint8_t byte) {
  Frame& f = stack_[index];
  switch (f.kind) {
    case FrameKind::object:
      return step_object(index, byte);
    case FrameKind::array:
      return step_array(index, byte);
    case FrameKind::string:
      return step_string(f, byte);
    case FrameKind::number:
      return step_number(f, byte);
    case FrameKind::literal: {
      int r = step_literal(f, byte, f.node->literals, 0);
      if (r < 0) return completable(f) ? Step::ended_before : Step::rejected;
      return r == 1 ? Step::consumed_closed : Step::consumed;
    }
  }
  return Step::rejected;
}

bool JsonMatcher::completable(const Frame& f) const {
  if (f.kind == FrameKind::number) {
    return f.phase == kZero || f.phase == kInt || f.phase == kFrac || f.phase == kExpDigits;
  }
  if (f.kind == FrameKind::literal) return f.node->literals[f.lo].size() == f.pos;
  return false;
}

void JsonMatcher::complete_top() {
  stack_.pop_back();
  if (stack_.empty()) {
    done_ = true;
    return;
  }
  Frame& parent = stack_.back();
  if (parent.kind == FrameKind::object) {
    parent.phase = parent.phase == kKey ? kColon : kAfterValue;
  } else if (parent.kind == FrameKind::array) {
    ++parent.count;
    parent.phase = kAfterValue;
  }
}

bool JsonMatcher::feed(uint8_t byte) {
  while (true) {
    if (stack_.empty()) return !done_ && start_value(grammar_->root(), byte);
    switch (step(stack_.size() - 1, byte)) {
      case Step::consumed:
        return true;
      case Step::rejected:
        return false;
      case Step::consumed_closed:
        complete_top();
        return true;
      case Step::ended_before:
        complete_top();
        if (done_) return false;  // nothing may follow the document
        break;                    // the parent reads the byte
    }
  }
}

bool JsonMatcher::feed(std::string_view bytes) {
  for (char c : bytes) {
    if (!feed(static_cast<uint8_t>(c))) return false;
  }
  return true;
}

bool JsonMatcher::accepting() const {
  return done_ || (stack_.size() == 1 && completable(stack_[0]));
}

void JsonMatcher::append_state_key(std::string& key) const {
  key.push_back(done_ ? 'D' : 'S');
  for (const Frame& f : stack_) {
    Frame normalised = f;
    // A count only changes the future when a bound looks at it.
    const SchemaNode& node = *f.node;
    if (f.kind == FrameKind::string && node.min_length == 0 && node.max_length < 0) {
      normalised.count = 0;
    }
    if (f.kind == FrameKind::array && node.min_items == 0 && node.max_items < 0) {
      normalised.count = 0;
    }
    char bytes[sizeof(Frame)];
    std::memset(bytes, 0, sizeof(bytes));
    std::memcpy(bytes, &normalised.node, sizeof(normalised.node));
    size_t at = sizeof(normalised.node);
    bytes[at++] = static_cast<char>(normalised.kind);
    bytes[at++] = static_cast<char>(normalised.phase);
    for (uint32_t v : {normalised.count, normalised.lo, normalised.hi, normalised.pos}) {
      std::memcpy(bytes + at, &v, sizeof(v));
      at += sizeof(v);
    }
    std::memcpy(bytes + at, &normalised.used, sizeof(normalised.used));
    at += sizeof(normalised.used);
    key.append(bytes, at);
  }
}

}  // namespace tessera::serve
