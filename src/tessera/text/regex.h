#pragma once
// Pre-tokenizer regular expressions on PCRE2 (UTF + UCP + JIT). Patterns come from
// tokenizer.json (written for Oniguruma) and from tiktoken (Rust's regex/fancy-regex); the
// few classes whose Unicode meaning differs between those engines and PCRE2 (\s, \w) are
// rewritten to explicit sets so that PCRE2 matches what the reference engines match.
// Invalid UTF-8 in the subject is allowed: invalid bytes never match and end up in the gaps
// between matches, which callers keep as their own pieces.
#include <memory>
#include <string>
#include <string_view>

namespace tessera::text {

enum class RegexFlavor {
  Oniguruma,  // HF tokenizers' Split/Replace patterns: \w = L, M, Nd, Pc
  RustRegex,  // tiktoken and HF's built-in patterns: \w = Alphabetic, M, Nd, Pc, Join_Control
};

class Regex {
 public:
  // Throws BadInput naming the pattern and the offset of the problem.
  static Regex compile(std::string_view pattern, RegexFlavor flavor = RegexFlavor::Oniguruma);
  // Builds a pattern that matches `literal` exactly (HF's {"String": ...} patterns).
  static Regex literal(std::string_view literal);

  // Finds the first non-empty match at or after `start`; false when there is none.
  bool find(std::string_view subject, size_t start, size_t& match_begin, size_t& match_end) const;

  // Calls on_match(begin, end) for every non-empty, non-overlapping match from left to right.
  template <typename OnMatch>
  void for_each_match(std::string_view subject, OnMatch&& on_match) const {
    size_t position = 0, begin = 0, end = 0;
    while (position < subject.size() && find(subject, position, begin, end)) {
      on_match(begin, end);
      position = end;
    }
  }

  const std::string& pattern() const { return source_; }

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
  std::string source_;
};

// Rewrites \s, \S, \w and \W into explicit Unicode sets for PCRE2 (exposed for tests).
std::string rewrite_pattern_for_pcre2(std::string_view pattern, RegexFlavor flavor);

}  // namespace tessera::text
