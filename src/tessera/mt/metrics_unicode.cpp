#include "tessera/mt/metrics_unicode.h"

#include <unicode/uchar.h>
#include <unicode/ucasemap.h>
#include <unicode/uscript.h>

#include <memory>

#include "tessera/core/error.h"

namespace tessera::mt {

char32_t next_code_point(std::string_view text, size_t& pos) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(pos);
  size_t length = utf8_sequence_length(lead);
  if (length == 1 || pos + length > text.size()) {
    ++pos;
    return lead;
  }
  char32_t code_point = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) code_point = (code_point << 6) | (byte(pos + i) & 0x3F);
  pos += length;
  return code_point;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::u32string to_code_points(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) out.push_back(next_code_point(text, pos));
  return out;
}

size_t find_invalid_utf8(std::string_view text) {
  size_t pos = 0;
  const size_t n = text.size();
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  while (pos < n) {
    unsigned char lead = byte(pos);
    if (lead < 0x80) {
      ++pos;
      continue;
    }
    size_t length = 0;
    char32_t minimum = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2, minimum = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3, minimum = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4, minimum = 0x10000;
    } else {
      return pos;
    }
    if (pos + length > n) return pos;
    char32_t code_point = lead & (0x7F >> length);
    for (size_t i = 1; i < length; ++i) {
      unsigned char continuation = byte(pos + i);
      if ((continuation & 0xC0) != 0x80) return pos;
      code_point = (code_point << 6) | (continuation & 0x3F);
    }
    if (code_point < minimum || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return pos;
    }
    pos += length;
  }
  return std::string_view::npos;
}

bool is_python_whitespace(char32_t c) {
  if (c < 0x80) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
  switch (c) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

namespace {
// Whitespace test at byte `pos`; sets `length` to the character's byte length. Only a few
// multi-byte characters are whitespace, so the common ASCII case stays a table-free compare.
inline bool whitespace_at(std::string_view text, size_t pos, size_t& length) {
  unsigned char lead = static_cast<unsigned char>(text[pos]);
  if (lead < 0x80) {
    length = 1;
    return (lead >= 0x09 && lead <= 0x0D) || (lead >= 0x1C && lead <= 0x20);
  }
  size_t p = pos;
  char32_t c = next_code_point(text, p);
  length = p - pos;
  return is_python_whitespace(c);
}
}  // namespace

void split_whitespace(std::string_view text, std::vector<std::string_view>& fields) {
  fields.clear();
  size_t pos = 0, start = 0, length = 0;
  bool in_field = false;
  while (pos < text.size()) {
    bool space = whitespace_at(text, pos, length);
    if (space && in_field) {
      fields.push_back(text.substr(start, pos - start));
      in_field = false;
    } else if (!space && !in_field) {
      start = pos;
      in_field = true;
    }
    pos += length;
  }
  if (in_field) fields.push_back(text.substr(start));
}

std::vector<std::string_view> split_whitespace(std::string_view text) {
  std::vector<std::string_view> fields;
  split_whitespace(text, fields);
  return fields;
}

std::string_view rstrip_whitespace(std::string_view text) {
  size_t end = text.size();
  while (end > 0) {
    // Step back to the start of the last character.
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    size_t length = 0;
    if (!whitespace_at(text, start, length) || start + length != end) break;
    end = start;
  }
  return text.substr(0, end);
}

std::string_view strip_whitespace(std::string_view text) {
  text = rstrip_whitespace(text);
  size_t pos = 0, length = 0;
  while (pos < text.size() && whitespace_at(text, pos, length)) pos += length;
  return text.substr(pos);
}

std::string collapse_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0, length = 0;
  bool pending_space = false;
  while (pos < text.size()) {
    if (whitespace_at(text, pos, length)) {
      pending_space = !out.empty();
    } else {
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.append(text.substr(pos, length));
    }
    pos += length;
  }
  return out;
}

namespace {
struct CaseMapCloser {
  void operator()(UCaseMap* map) const { ucasemap_close(map); }
};

// The root locale: no Turkish or Lithuanian rules, like Python's locale-independent lower().
const UCaseMap* root_case_map() {
  static const std::unique_ptr<UCaseMap, CaseMapCloser> map = [] {
    UErrorCode status = U_ZERO_ERROR;
    UCaseMap* created = ucasemap_open("", 0, &status);
    if (U_FAILURE(status)) throw runtime_error("ICU: cannot open the root case map: {}", u_errorName(status));
    return std::unique_ptr<UCaseMap, CaseMapCloser>(created);
  }();
  return map.get();
}
}  // namespace

std::string python_lower(std::string_view text) {
  std::string out(text);
  bool ascii = true;
  for (char& c : out) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
  if (ascii) return out;
  // Final sigma depends on the surrounding letters, so the whole string goes to ICU.
  std::string lowered(text.size() + text.size() / 2 + 16, '\0');
  for (int attempt = 0; attempt < 2; ++attempt) {
    UErrorCode status = U_ZERO_ERROR;
    int32_t length = ucasemap_utf8ToLower(root_case_map(), lowered.data(),
                                          static_cast<int32_t>(lowered.size()), text.data(),
                                          static_cast<int32_t>(text.size()), &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
      lowered.assign(static_cast<size_t>(length), '\0');
      continue;
    }
    if (U_FAILURE(status)) throw runtime_error("ICU lowercasing failed: {}", u_errorName(status));
    lowered.resize(static_cast<size_t>(length));
    return lowered;
  }
  throw runtime_error("ICU lowercasing failed: buffer size changed between calls");
}

bool is_unicode_punctuation(char32_t c) {
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_P_MASK) != 0;
}

bool is_unicode_symbol(char32_t c) {
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_S_MASK) != 0;
}

bool is_unicode_number(char32_t c) {
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0;
}

bool is_han(char32_t c) {
  UErrorCode status = U_ZERO_ERROR;
  return uscript_getScript(static_cast<UChar32>(c), &status) == USCRIPT_HAN;
}

}  // namespace tessera::mt
