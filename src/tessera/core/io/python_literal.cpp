#include "tessera/core/io/python_literal.h"

#include <limits>
#include <tuple>

#include "tessera/core/error.h"

namespace tessera::io {

namespace {

constexpr int kMaxDepth = 32;  // .npy headers nest two levels; deeper is hostile

class Parser {
 public:
  Parser(std::string_view text, const std::string& what) : text_(text), what_(what) {}

  PythonLiteral parse_document() {
    PythonLiteral value = parse_value(0);
    skip_space();
    if (pos_ != text_.size()) fail("unexpected '{}' after the value", printable(text_[pos_]));
    return value;
  }

 private:
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    throw bad_input("{}: {} at offset {}", what_, fmt::format(format, std::forward<Args>(args)...),
                    pos_);
  }

  static std::string printable(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f ? std::string(1, c) : fmt::format("\\x{:02x}", u);
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  PythonLiteral parse_value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than {} levels", kMaxDepth);
    skip_space();
    if (pos_ >= text_.size()) fail("unexpected end of text");
    const char c = text_[pos_];
    if (c == '{') return parse_dict(depth);
    if (c == '(') return parse_sequence(depth, ')', PythonLiteral::Kind::tuple);
    if (c == '[') return parse_sequence(depth, ']', PythonLiteral::Kind::list);
    if (c == '\'' || c == '"') return parse_string();
    if (c == '-' || c == '+' || (c >= '0' && c <= '9')) return parse_integer();
    return parse_keyword();
  }

  PythonLiteral parse_dict(int depth) {
    ++pos_;  // '{'
    PythonLiteral dict;
    dict.kind = PythonLiteral::Kind::dict;
    while (!consume('}')) {
      skip_space();
      if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
        fail("expected a quoted dict key or '}}'");
      }
      std::string key = parse_string().text;
      if (!consume(':')) fail("expected ':' after dict key '{}'", key);
      dict.keys.push_back(std::move(key));
      dict.items.push_back(parse_value(depth + 1));
      if (!consume(',')) {
        if (!consume('}')) fail("expected ',' or '}}' in dict");
        break;
      }
    }
    return dict;
  }

  // Python's rule: "(x)" is x itself; a one-element tuple needs its trailing comma "(x,)".
  PythonLiteral parse_sequence(int depth, char close, PythonLiteral::Kind kind) {
    ++pos_;  // '(' or '['
    PythonLiteral sequence;
    sequence.kind = kind;
    bool trailing_comma = false;
    while (!consume(close)) {
      sequence.items.push_back(parse_value(depth + 1));
      trailing_comma = consume(',');
      if (!trailing_comma) {
        if (!consume(close)) fail("expected ',' or '{}'", close);
        break;
      }
    }
    if (kind == PythonLiteral::Kind::tuple && sequence.items.size() == 1 && !trailing_comma) {
      return std::move(sequence.items[0]);
    }
    return sequence;
  }

  PythonLiteral parse_string() {
    const char quote = text_[pos_++];
    PythonLiteral value;
    value.kind = PythonLiteral::Kind::string;
    while (true) {
      if (pos_ >= text_.size() || text_[pos_] == '\n') fail("unterminated string");
      char c = text_[pos_++];
      if (c == quote) break;
      if (c == '\\') {
        if (pos_ >= text_.size()) fail("unterminated string");
        c = text_[pos_++];
        if (c != '\\' && c != '\'' && c != '"') fail("unsupported escape '\\{}'", printable(c));
      }
      value.text += c;
    }
    return value;
  }

  PythonLiteral parse_integer() {
    PythonLiteral value;
    value.kind = PythonLiteral::Kind::integer;
    bool negative = false;
    if (text_[pos_] == '-' || text_[pos_] == '+') negative = text_[pos_++] == '-';
    if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') fail("expected digits");
    uint64_t magnitude = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const uint64_t digit = static_cast<uint64_t>(text_[pos_++] - '0');
      if (magnitude > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
        value.integer_overflow = true;
      } else {
        magnitude = magnitude * 10 + digit;
      }
    }
    if (pos_ < text_.size() && (text_[pos_] == 'L' || text_[pos_] == 'l')) ++pos_;  // Python 2
    if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
      fail("floating-point numbers are not expected here");
    }
    const uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (magnitude > limit + (negative ? 1 : 0)) value.integer_overflow = true;
    if (!value.integer_overflow) {
      value.integer =
          negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    }
    return value;
  }

  PythonLiteral parse_keyword() {
    PythonLiteral value;
    for (auto [word, kind, flag] : {std::tuple{"True", PythonLiteral::Kind::boolean, true},
                                    std::tuple{"False", PythonLiteral::Kind::boolean, false},
                                    std::tuple{"None", PythonLiteral::Kind::none, false}}) {
      std::string_view w(word);
      if (text_.substr(pos_, w.size()) == w) {
        pos_ += w.size();
        value.kind = kind;
        value.boolean = flag;
        return value;
      }
    }
    fail("unexpected '{}'", printable(text_[pos_]));
  }

  std::string_view text_;
  const std::string& what_;
  size_t pos_ = 0;
};

}  // namespace

std::string_view python_kind_name(PythonLiteral::Kind kind) {
  switch (kind) {
    case PythonLiteral::Kind::dict:
      return "a dict";
    case PythonLiteral::Kind::tuple:
      return "a tuple";
    case PythonLiteral::Kind::list:
      return "a list";
    case PythonLiteral::Kind::string:
      return "a string";
    case PythonLiteral::Kind::integer:
      return "an integer";
    case PythonLiteral::Kind::boolean:
      return "a boolean";
    case PythonLiteral::Kind::none:
      return "None";
  }
  return "?";
}

PythonLiteral parse_python_literal(std::string_view text, const std::string& what) {
  return Parser(text, what).parse_document();
}

}  // namespace tessera::io
