#pragma once
// Constrained decoding for response_format json_object / json_schema: a JSON schema compiled
// into a byte-level pushdown automaton. JsonMatcher is the automaton's state; feeding it the
// bytes of a candidate token says whether that token can continue a document the schema
// accepts (token_mask.h turns this into a mask over the vocabulary).
//
// Supported schema keywords: type (object, array, string, number, integer, boolean, null, or a
// list of them), properties, required, additionalProperties (false, true or a schema), items,
// minItems, maxItems, minLength, maxLength, enum, const, and format/description/title (read
// and ignored). Anything else that would constrain values (anyOf, $ref, pattern, minimum, ...)
// is refused with a 400 naming it rather than silently producing output that may not
// validate. The output is compact JSON: no insignificant whitespace, so a model cannot pad
// forever; numbers have at most 16 integer digits, 16 fraction digits and 2 exponent digits (every
// number fits a double).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::serve {

struct SchemaNode {
  enum class Kind : uint8_t { any, object, array, string, number, integer, literals, choice };
  Kind kind = Kind::any;
  // object: declared keys as their JSON text with both quotes ("\"name\""), sorted; the schema
  // of each; which are required (bit i for keys[i]). With free_keys any key is allowed and
  // every value follows free_values.
  std::vector<std::string> keys;
  std::vector<const SchemaNode*> key_values;
  uint64_t required_mask = 0;
  bool free_keys = false;
  const SchemaNode* free_values = nullptr;
  // array
  const SchemaNode* items = nullptr;
  int64_t min_items = 0, max_items = -1;
  // string (length in characters)
  int64_t min_length = 0, max_length = -1;
  // literals: JSON texts (enum, const, true/false/null), sorted and unique
  std::vector<std::string> literals;
  // choice: alternatives whose first bytes differ (a `type` list)
  std::vector<const SchemaNode*> alternatives;
};

class JsonGrammar {
 public:
  // Throws ApiError(400) naming the schema path of anything unsupported or malformed.
  static std::shared_ptr<const JsonGrammar> from_schema(const nlohmann::json& schema);
  // response_format json_object: any JSON object.
  static std::shared_ptr<const JsonGrammar> any_object();

  const SchemaNode* root() const { return root_; }
  // Unique per grammar for the life of the process (mask caches key on it, not on addresses
  // that a later grammar may reuse).
  uint64_t id() const { return id_; }
  const SchemaNode* any_value() const { return any_; }
  const SchemaNode* any_string() const { return any_string_; }
  const SchemaNode* any_number() const { return any_number_; }
  const SchemaNode* any_literals() const { return any_literals_; }
  const SchemaNode* any_object_node() const { return any_object_; }
  const SchemaNode* any_array() const { return any_array_; }

 private:
  JsonGrammar();
  SchemaNode* make(SchemaNode::Kind kind);
  const SchemaNode* compile(const nlohmann::json& schema, const std::string& path, int depth);

  std::vector<std::unique_ptr<SchemaNode>> nodes_;
  uint64_t id_;
  const SchemaNode* root_ = nullptr;
  SchemaNode *any_ = nullptr, *any_string_ = nullptr, *any_number_ = nullptr,
             *any_literals_ = nullptr, *any_object_ = nullptr, *any_array_ = nullptr;
};

class JsonMatcher {
 public:
  // The grammar must outlive the matcher (a raw pointer keeps copies cheap: the mask search
  // copies the state at every branch of the vocabulary trie).
  explicit JsonMatcher(const JsonGrammar& grammar);

  // Consumes one byte; false when no document of the grammar continues with it (the state is
  // then unspecified: feed a copy when probing).
  bool feed(uint8_t byte);
  bool feed(std::string_view bytes);
  // The bytes so far form a complete document (end of generation is allowed here).
  bool accepting() const;
  // Complete and nothing may follow.
  bool finished() const { return done_; }
  // Appends bytes that identify the state (equal keys: equal futures), for mask caching.
  void append_state_key(std::string& key) const;
  const JsonGrammar& grammar() const { return *grammar_; }

 private:
  enum class FrameKind : uint8_t { object, array, string, number, literal };
  struct Frame {
    const SchemaNode* node;
    FrameKind kind;
    uint8_t phase;
    uint32_t count;   // chars of a string, items of an array, digits of a number part
    uint32_t lo, hi;  // literal / key candidate range
    uint32_t pos;     // bytes matched of a literal / key
    uint64_t used;    // object: keys already present
  };
  // consumed_closed: the byte completed the top frame's value; ended_before: the top value
  // was already complete and the byte belongs to its parent.
  enum class Step { consumed, consumed_closed, rejected, ended_before };

  bool start_value(const SchemaNode* node, uint8_t byte);
  bool push(const SchemaNode* node, FrameKind kind, uint8_t phase);
  Step step(size_t index, uint8_t byte);
  Step step_object(size_t index, uint8_t byte);
  Step step_array(size_t index, uint8_t byte);
  static Step step_string(Frame& frame, uint8_t byte);
  static Step step_number(Frame& frame, uint8_t byte);
  // -1: rejected, 0: consumed, 1: consumed and exactly one text fully matched.
  static int step_literal(Frame& frame, uint8_t byte, const std::vector<std::string>& texts,
                          uint64_t excluded);
  bool completable(const Frame& frame) const;
  void complete_top();

  const JsonGrammar* grammar_;
  std::vector<Frame> stack_;
  bool done_ = false;
};

}  // namespace tessera::serve
