#include "tessera/mt/corpus_cleaning.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>

namespace tessera::mt {

namespace {
bool is_alpha(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x110000) {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}
}  // namespace

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    if (c < 0x80) {
      n = 0;
    } else if ((c >> 5) == 6) {
      if (c < 0xC2) return false;  // overlong
      n = 1;
    } else if ((c >> 4) == 14) {
      n = 2;
    } else if ((c >> 3) == 30 && c <= 0xF4) {
      n = 3;
    } else {
      return false;
    }
    if (i + n >= s.size() && n > 0) return false;
    for (size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n + 1;
  }
  return true;
}

bool has_placeholder(std::string_view t) {
  for (size_t i = 0; i + 1 < t.size(); ++i) {
    char c = t[i], n = t[i + 1];
    if (c == '%') {
      if (n == '%') {
        ++i;
        continue;
      }
      if (n == '(') return true;  // Python: %(name)s
      size_t j = i + 1;           // printf: flags, width/position, precision, length, conversion
      while (j < t.size() && std::strchr("-+0#123456789$*.hlLqjzt", t[j]) != nullptr) ++j;
      if (j < t.size() && std::strchr("diouxXeEfFgGaAcspn", t[j]) != nullptr && t[j] != '\0')
        return true;
    }
    if (c == '{' && (n == '}' || std::isalnum(static_cast<unsigned char>(n)) || n == '_')) {
      size_t close = t.find('}', i);
      if (close != std::string_view::npos && close - i < 40) return true;
    }
    if (c == '$' && (n == '{' || std::isupper(static_cast<unsigned char>(n)))) return true;
  }
  return false;
}

std::string clean_message(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '<') {  // markup: <b>, </span>, <a href=...>
      size_t close = in.find('>', i);
      if (close != std::string_view::npos && close - i < 200 && i + 1 < in.size() &&
          (is_alpha(in[i + 1]) || in[i + 1] == '/')) {
        out += ' ';
        i = close;
        continue;
      }
    }
    if (c == '&') {
      size_t semi = in.find(';', i);
      if (semi != std::string_view::npos && semi - i <= 8) {
        std::string_view entity = in.substr(i + 1, semi - i - 1);
        std::string decoded;
        if (entity == "amp")
          decoded = "&";
        else if (entity == "lt")
          decoded = "<";
        else if (entity == "gt")
          decoded = ">";
        else if (entity == "quot")
          decoded = "\"";
        else if (entity == "apos")
          decoded = "'";
        else if (entity.size() > 1 && entity[0] == '#') {
          uint32_t cp = 0;
          bool ok = true;
          for (char d : entity.substr(1)) {
            if (!std::isdigit(static_cast<unsigned char>(d)))
              ok = false;
            else
              cp = cp * 10 + static_cast<uint32_t>(d - '0');
          }
          if (ok && cp > 0) append_utf8(decoded, cp);
        }
        if (!decoded.empty()) {
          out += decoded;
          i = semi;
          continue;
        }
      }
      if (i + 1 < in.size() && is_alpha(in[i + 1])) continue;  // Qt accelerator "&File"
    }
    if (c == '_' && i + 1 < in.size() && is_alpha(in[i + 1]) && (i == 0 || !is_alpha(in[i - 1]))) {
      continue;  // GTK accelerator "_File"
    }
    if (c == '(' && i + 3 < in.size() && in[i + 1] == '_' && in[i + 3] == ')') {
      i += 3;  // CJK-style accelerator "(_F)"
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    out += c;
  }
  // Collapse whitespace and trim.
  std::string collapsed;
  collapsed.reserve(out.size());
  bool space = false;
  for (char c : out) {
    if (c == ' ') {
      space = !collapsed.empty();
      continue;
    }
    if (space) collapsed += ' ';
    space = false;
    collapsed += c;
  }
  return collapsed;
}

std::optional<std::string> reject_reason(const std::string& source, const std::string& target,
                                         const CleaningRules& rules) {
  if (!valid_utf8(source) || !valid_utf8(target)) return "invalid-utf8";
  if (has_placeholder(source) || has_placeholder(target)) return "placeholder";
  std::string s = clean_message(source), t = clean_message(target);
  if (s.empty() || t.empty()) return "empty";
  if (s.find("://") != std::string::npos || s[0] == '-' || s.find("--") != std::string::npos)
    return "url-or-option";
  int words = 0, letters = 0;
  bool in_word = false;
  for (char c : s) {
    letters += is_alpha(c);
    bool w = c != ' ';
    if (w && !in_word) ++words;
    in_word = w;
  }
  if (words < rules.min_source_words || letters < 2 * rules.min_source_words) return "short";
  if (static_cast<int>(s.size()) > rules.max_bytes || static_cast<int>(t.size()) > rules.max_bytes)
    return "long";
  double a = static_cast<double>(s.size()), b = static_cast<double>(t.size());
  if (std::max(a, b) / std::min(a, b) > rules.max_length_ratio) return "ratio";
  std::string ls = s, lt = t;
  std::transform(ls.begin(), ls.end(), ls.begin(), [](unsigned char c) { return std::tolower(c); });
  std::transform(lt.begin(), lt.end(), lt.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ls == lt) return "untranslated";
  return std::nullopt;
}

}  // namespace tessera::mt
