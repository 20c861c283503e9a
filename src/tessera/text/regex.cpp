#include "tessera/text/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cctype>

#include "tessera/core/error.h"
#include "tessera/text/utf8.h"

namespace tessera::text {
namespace {

// Unicode White_Space, which Rust's regex and Oniguruma both use for \s; PCRE2's UCP \s
// leaves out U+0085 (NEL).
constexpr std::string_view kWhiteSpaceSet =
    R"(\t\n\x{0B}\f\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";
constexpr std::string_view kOnigurumaWordSet = R"(\p{L}\p{M}\p{Nd}\p{Pc})";
constexpr std::string_view kRustWordSet = R"(\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control})";

std::string pcre2_error_text(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

// Per-thread scratch: match data and a JIT stack big enough for long whitespace runs.
struct MatchScratch {
  pcre2_match_data* match_data = pcre2_match_data_create(1, nullptr);
  pcre2_jit_stack* jit_stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
  pcre2_match_context* context = [this] {
    auto* ctx = pcre2_match_context_create(nullptr);
    if (jit_stack) pcre2_jit_stack_assign(ctx, nullptr, jit_stack);
    return ctx;
  }();
  ~MatchScratch() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_data_free(match_data);
  }
};

MatchScratch& scratch() {
  thread_local MatchScratch per_thread;
  return per_thread;
}

}  // namespace

struct Regex::Compiled {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Compiled() { pcre2_code_free(code); }
};

std::string rewrite_pattern_for_pcre2(std::string_view pattern, RegexFlavor flavor) {
  const std::string_view word_set =
      flavor == RegexFlavor::Oniguruma ? kOnigurumaWordSet : kRustWordSet;
  std::string out;
  out.reserve(pattern.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char escaped = pattern[++i];
      const bool is_space = escaped == 's' || escaped == 'S';
      const bool is_word = escaped == 'w' || escaped == 'W';
      const bool negated = escaped == 'S' || escaped == 'W';
      if (is_space || is_word) {
        const std::string_view set = is_space ? kWhiteSpaceSet : word_set;
        if (!in_class) {
          out += negated ? "[^" : "[";
          out += set;
          out += ']';
          continue;
        }
        if (!negated) {
          out += set;
          continue;
        }
        // A negated class escape inside a bracket has no exact inline spelling; PCRE2's own
        // \S / \W differ from the reference only on U+0085 and a few marks.
      }
      out += '\\';
      out += escaped;
      continue;
    }
    if (in_class) {
      if (c == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {
        // POSIX class like [:alpha:]: copy through its closing ":]".
        const size_t close = pattern.find(":]", i + 2);
        if (close != std::string_view::npos) {
          out.append(pattern.substr(i, close + 2 - i));
          i = close + 1;
          continue;
        }
      }
      if (c == ']') in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal member, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    out += c;
  }
  return out;
}

Regex Regex::compile(std::string_view pattern, RegexFlavor flavor) {
  const std::string rewritten = rewrite_pattern_for_pcre2(pattern, flavor);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rewritten.data()), rewritten.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error_code,
                                   &error_offset, nullptr);
  if (!code) {
    throw bad_input("invalid regex /{}/: {} (at offset {} of the PCRE2 form /{}/)", pattern,
                    pcre2_error_text(error_code), error_offset, rewritten);
  }
  auto compiled = std::make_shared<Compiled>();
  compiled->code = code;
  compiled->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  Regex regex;
  regex.compiled_ = std::move(compiled);
  regex.source_ = std::string(pattern);
  return regex;
}

Regex Regex::literal(std::string_view literal) {
  std::string quoted;
  for (char c : literal) {
    // Escape every ASCII punctuation character; letters, digits and non-ASCII stay literal.
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80 && !std::isalnum(byte) && c != ' ') quoted += '\\';
    quoted += c;
  }
  return compile(quoted, RegexFlavor::RustRegex);
}

bool Regex::find(std::string_view subject, size_t start, size_t& match_begin,
                 size_t& match_end) const {
  auto& s = scratch();
  const auto* data = reinterpret_cast<PCRE2_SPTR>(subject.data());
  while (start < subject.size()) {
    int rc = compiled_->jit ? pcre2_jit_match(compiled_->code, data, subject.size(), start, 0,
                                              s.match_data, s.context)
                            : pcre2_match(compiled_->code, data, subject.size(), start, 0,
                                          s.match_data, s.context);
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    if (rc < 0) {
      throw runtime_error("regex /{}/ failed at byte {}: {}", source_, start, pcre2_error_text(rc));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(s.match_data);
    if (ovector[1] > ovector[0]) {
      match_begin = ovector[0];
      match_end = ovector[1];
      return true;
    }
    // An empty match selects nothing; look again from the next character.
    start = ovector[0] + utf8_unit_length(subject, ovector[0]);
  }
  return false;
}

}  // namespace tessera::text
