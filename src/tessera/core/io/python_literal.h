#pragma once
// The small subset of Python literal syntax that .npy headers use: dicts, tuples, lists,
// strings, integers, True/False/None. Parsed strictly, with a nesting limit, because the
// header comes from an untrusted file.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tessera::io {

struct PythonLiteral {
  enum class Kind { dict, tuple, list, string, integer, boolean, none };
  Kind kind = Kind::none;
  std::string text;               // string contents
  int64_t integer = 0;            // integer value (see integer_overflow)
  bool integer_overflow = false;  // the literal does not fit in int64
  bool boolean = false;
  std::vector<PythonLiteral> items;  // tuple and list elements; dict values
  std::vector<std::string> keys;     // dict keys (strings only), parallel to items
};

std::string_view python_kind_name(PythonLiteral::Kind kind);  // "a tuple", "an integer", ...

// Parses exactly one literal (surrounding whitespace allowed). Throws BadInput
// "<what>: <problem> at offset N".
PythonLiteral parse_python_literal(std::string_view text, const std::string& what);

}  // namespace tessera::io
