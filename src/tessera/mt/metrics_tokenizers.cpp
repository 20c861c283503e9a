#include "tessera/mt/metrics_tokenizers.h"

#include <algorithm>
#include <array>
#include <utility>

#include "tessera/core/error.h"
#include "tessera/mt/metrics_unicode.h"

namespace tessera::mt {

namespace {

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

// Byte length of the character at `pos`, never running past the end.
size_t char_length(std::string_view s, size_t pos) {
  return std::min(utf8_sequence_length(static_cast<unsigned char>(s[pos])), s.size() - pos);
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out.append(to);
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

// The class [\{-\~\[-\` -\&\(-\+\:-\@\/] of mteval's first rule: ASCII punctuation except
// the apostrophe, comma, hyphen and period (handled by the context rules), plus the space.
bool in_mteval_punctuation_class(unsigned char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
         (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

// Each rule below is one `re.sub` of sacrebleu: matches are found left to right and do not
// overlap, so a character consumed by one match is not the context of the next.

// ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 "
std::string pad_mteval_punctuation(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 2);
  for (char c : s) {
    if (in_mteval_punctuation_class(static_cast<unsigned char>(c))) {
      out.push_back(' ');
      out.push_back(c);
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// ([^0-9])([\.,]) -> "\1 \2 "
std::string split_period_comma_after_non_digit(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (size_t i = 0; i < s.size();) {
    size_t length = char_length(s, i);
    bool non_digit = !(length == 1 && is_ascii_digit(s[i]));
    if (non_digit && i + length < s.size() && (s[i + length] == '.' || s[i + length] == ',')) {
      out.append(s.substr(i, length));
      out.push_back(' ');
      out.push_back(s[i + length]);
      out.push_back(' ');
      i += length + 1;
    } else {
      out.append(s.substr(i, length));
      i += length;
    }
  }
  return out;
}

// ([\.,])([^0-9]) -> " \1 \2"
std::string split_period_comma_before_non_digit(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (size_t i = 0; i < s.size();) {
    size_t length = char_length(s, i);
    if ((s[i] == '.' || s[i] == ',') && i + 1 < s.size() && !is_ascii_digit(s[i + 1])) {
      size_t next_length = char_length(s, i + 1);
      out.push_back(' ');
      out.push_back(s[i]);
      out.push_back(' ');
      out.append(s.substr(i + 1, next_length));
      i += 1 + next_length;
    } else {
      out.append(s.substr(i, length));
      i += length;
    }
  }
  return out;
}

// ([0-9])(-) -> "\1 \2 "
std::string split_dash_after_digit(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (size_t i = 0; i < s.size();) {
    if (is_ascii_digit(s[i]) && i + 1 < s.size() && s[i + 1] == '-') {
      out.push_back(s[i]);
      out.append(" - ");
      i += 2;
    } else {
      size_t length = char_length(s, i);
      out.append(s.substr(i, length));
      i += length;
    }
  }
  return out;
}

// The four Western rules shared by 13a, zh and tercom's normalizer (without the collapse).
std::string apply_mteval_rules(std::string_view s) {
  std::string out = pad_mteval_punctuation(s);
  out = split_period_comma_after_non_digit(out);
  out = split_period_comma_before_non_digit(out);
  return split_dash_after_digit(out);
}

void append_spaced(std::u32string& out, char32_t c) {
  out.push_back(U' ');
  out.push_back(c);
  out.push_back(U' ');
}

std::string to_utf8(const std::u32string& code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t c : code_points) append_utf8(out, c);
  return out;
}

}  // namespace

std::string tokenize_mteval_regexp(std::string_view line) {
  return collapse_whitespace(apply_mteval_rules(line));
}

std::string tokenize_13a(std::string_view line) {
  std::string s(line);
  replace_all(s, "<skipped>", "");
  replace_all(s, "-\n", "");
  replace_all(s, "\n", " ");
  if (s.find('&') != std::string::npos) {
    replace_all(s, "&quot;", "\"");
    replace_all(s, "&amp;", "&");
    replace_all(s, "&lt;", "<");
    replace_all(s, "&gt;", ">");
  }
  return tokenize_mteval_regexp(" " + s + " ");
}

std::string tokenize_intl(std::string_view line) {
  std::u32string s = to_code_points(line);
  std::u32string out;
  out.reserve(s.size() * 2);
  // (\P{N})(\p{P}) -> "\1 \2 "
  for (size_t i = 0; i < s.size();) {
    if (i + 1 < s.size() && !is_unicode_number(s[i]) && is_unicode_punctuation(s[i + 1])) {
      out.push_back(s[i]);
      out.push_back(U' ');
      out.push_back(s[i + 1]);
      out.push_back(U' ');
      i += 2;
    } else {
      out.push_back(s[i++]);
    }
  }
  s.swap(out);
  out.clear();
  // (\p{P})(\P{N}) -> " \1 \2"
  for (size_t i = 0; i < s.size();) {
    if (i + 1 < s.size() && is_unicode_punctuation(s[i]) && !is_unicode_number(s[i + 1])) {
      out.push_back(U' ');
      out.push_back(s[i]);
      out.push_back(U' ');
      out.push_back(s[i + 1]);
      i += 2;
    } else {
      out.push_back(s[i++]);
    }
  }
  s.swap(out);
  out.clear();
  // (\p{S}) -> " \1 "
  for (char32_t c : s) {
    if (is_unicode_symbol(c)) {
      append_spaced(out, c);
    } else {
      out.push_back(c);
    }
  }
  return collapse_whitespace(to_utf8(out));
}

bool is_sacrebleu_chinese_char(char32_t c) {
  static constexpr std::array<std::pair<char32_t, char32_t>, 22> kRanges = {{
      {0x3400, 0x4DB5}, {0x4E00, 0x9FA5}, {0x9FA6, 0x9FBB}, {0xF900, 0xFA2D}, {0xFA30, 0xFA6A},
      {0xFA70, 0xFAD9},
      {0x2001, 0x2A6D},  // '\u20000' <= c <= '\u2a6d6' for a one-character c
      {0x2F81, 0x2FA1},  // '\u2f800' <= c <= '\u2fa1d'
      {0xFF00, 0xFFEF}, {0x2E80, 0x2EFF}, {0x3000, 0x303F}, {0x31C0, 0x31EF}, {0x2F00, 0x2FDF},
      {0x2FF0, 0x2FFF}, {0x3100, 0x312F}, {0x31A0, 0x31BF}, {0xFE10, 0xFE1F}, {0xFE30, 0xFE4F},
      {0x2600, 0x26FF}, {0x2700, 0x27BF}, {0x3200, 0x32FF}, {0x3300, 0x33FF},
  }};
  if (c < 0x2001) return false;
  for (const auto& [first, last] : kRanges) {
    if (c >= first && c <= last) return true;
  }
  return false;
}

std::string tokenize_zh(std::string_view line) {
  line = strip_whitespace(line);
  std::string spaced;
  spaced.reserve(line.size() * 2);
  for (size_t pos = 0; pos < line.size();) {
    size_t start = pos;
    char32_t c = next_code_point(line, pos);
    if (is_sacrebleu_chinese_char(c)) {
      spaced.push_back(' ');
      spaced.append(line.substr(start, pos - start));
      spaced.push_back(' ');
    } else {
      spaced.append(line.substr(start, pos - start));
    }
  }
  return tokenize_mteval_regexp(spaced);
}

std::string tokenize_char(std::string_view line) {
  // " ".join(line) is split on whitespace afterwards, so the tokens are exactly the
  // characters that are not whitespace.
  std::string out;
  out.reserve(line.size() * 2);
  for (size_t pos = 0; pos < line.size();) {
    size_t start = pos;
    char32_t c = next_code_point(line, pos);
    if (is_python_whitespace(c)) continue;
    if (!out.empty()) out.push_back(' ');
    out.append(line.substr(start, pos - start));
  }
  return out;
}

BleuTokenizer BleuTokenizer::create(const std::string& name, const std::string& spm_model_path) {
  if (name == "13a") return BleuTokenizer(Kind::Mteval13a, name);
  if (name == "intl") return BleuTokenizer(Kind::International, name);
  if (name == "zh") return BleuTokenizer(Kind::Chinese, name);
  if (name == "char") return BleuTokenizer(Kind::Character, name);
  if (name == "none") return BleuTokenizer(Kind::None, name);
  if (name == "flores101" || name == "flores200" || name == "spm" || name == "spBLEU-1K") {
    // sacrebleu's `spm` is an alias of flores101 and signs as such.
    BleuTokenizer tokenizer(Kind::SentencePiece, name == "spm" ? "flores101" : name);
    TESSERA_CHECK_INPUT(!spm_model_path.empty(),
                        "tokenizer '{}' needs its SentencePiece model file (--spm-model); it "
                        "cannot be downloaded here",
                        name);
    tokenizer.sentencepiece_ = text::SentencePieceTokenizer::load(spm_model_path);
    return tokenizer;
  }
  throw bad_input(
      "unknown BLEU tokenizer '{}' (expected 13a, intl, zh, char, none, flores101, flores200, "
      "spm or spBLEU-1K)",
      name);
}

std::string BleuTokenizer::operator()(std::string_view line) const {
  switch (kind_) {
    case Kind::None:
      return std::string(line);
    case Kind::Mteval13a:
      return tokenize_13a(line);
    case Kind::International:
      return tokenize_intl(line);
    case Kind::Chinese:
      return tokenize_zh(line);
    case Kind::Character:
      return tokenize_char(line);
    case Kind::SentencePiece: {
      std::string out;
      for (const std::string& piece : sentencepiece_->encode_pieces(line)) {
        if (!out.empty()) out.push_back(' ');
        out.append(piece);
      }
      return out;
    }
  }
  return std::string(line);
}

namespace {

bool is_tercom_asian_punctuation(char32_t c) {
  return c == 0x3001 || c == 0x3002 || (c >= 0x3008 && c <= 0x3011) ||
         (c >= 0x3014 && c <= 0x301F) || (c >= 0xFF61 && c <= 0xFF65) || c == 0x30FB;
}

bool is_tercom_full_width_punctuation(char32_t c) {
  switch (c) {
    case 0xFF0E:
    case 0xFF0C:
    case 0xFF1F:
    case 0xFF1A:
    case 0xFF1B:
    case 0xFF01:
    case 0xFF02:
    case 0xFF08:
    case 0xFF09:
      return true;
    default:
      return false;
  }
}

// Characters that tercom's Asian normalization surrounds with spaces (CJK ideographs,
// strokes, radicals, compatibility forms, enclosed letters, CJK and full-width punctuation).
bool is_tercom_asian_split_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x31C0 && c <= 0x31EF) || (c >= 0x2E80 && c <= 0x2EFF) ||
         (c >= 0x3300 && c <= 0x33FF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0x3200 && c <= 0x3F22) ||
         is_tercom_asian_punctuation(c) || is_tercom_full_width_punctuation(c);
}

std::string normalize_tercom_western(std::string s) {
  replace_all(s, "\n-", "");
  replace_all(s, "\n", " ");
  replace_all(s, "&quot;", "\"");
  replace_all(s, "&amp;", "&");
  replace_all(s, "&lt;", "<");
  replace_all(s, "&gt;", ">");
  s = pad_mteval_punctuation(" " + s + " ");
  replace_all(s, "'s ", " 's ");
  // "'s$" cannot match: the padding above leaves a space at the end.
  s = split_period_comma_after_non_digit(s);
  s = split_period_comma_before_non_digit(s);
  return split_dash_after_digit(s);
}

// Spaces around the Asian characters. sacrebleu's kana rules only ever match a sentence
// that starts with kana, and the normalized sentence starts with a space, so they change
// nothing that survives the final whitespace collapse and are left out.
std::string normalize_tercom_asian(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 2);
  for (size_t pos = 0; pos < s.size();) {
    size_t start = pos;
    char32_t c = next_code_point(s, pos);
    bool split = is_tercom_asian_split_char(c);
    if (split) out.push_back(' ');
    out.append(s.substr(start, pos - start));
    if (split) out.push_back(' ');
  }
  return out;
}

std::string remove_tercom_punctuation(std::string_view s, bool asian) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    size_t start = pos;
    char32_t c = next_code_point(s, pos);
    bool western = c < 0x80 && std::string_view(".,?:;!\"()").find(static_cast<char>(c)) !=
                                   std::string_view::npos;
    bool removed = western ||
                   (asian && (is_tercom_asian_punctuation(c) || is_tercom_full_width_punctuation(c)));
    if (!removed) out.append(s.substr(start, pos - start));
  }
  return out;
}

}  // namespace

std::string tokenize_tercom(std::string_view sentence, const TercomOptions& options) {
  if (sentence.empty()) return "";
  std::string s = options.case_sensitive ? std::string(sentence) : python_lower(sentence);
  if (options.normalized) {
    s = normalize_tercom_western(std::move(s));
    if (options.asian_support) s = normalize_tercom_asian(s);
  }
  if (options.no_punct) s = remove_tercom_punctuation(s, options.asian_support);
  return collapse_whitespace(s);
}

}  // namespace tessera::mt
