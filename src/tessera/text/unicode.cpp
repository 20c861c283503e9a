#include "tessera/text/unicode.h"

#include <unicode/bytestream.h>
#include <unicode/casemap.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>

#include "tessera/core/error.h"
#include "tessera/text/utf8.h"

namespace tessera::text {
namespace {

bool is_ascii(std::string_view text) {
  for (char c : text)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

// Applies `transform` (valid UTF-8 in, appended UTF-8 out) to each valid stretch of `text`
// and copies invalid bytes through.
template <typename Transform>
std::string map_valid_stretches(std::string_view text, Transform&& transform) {
  std::string out;
  out.reserve(text.size());
  size_t stretch_begin = 0, pos = 0;
  while (pos < text.size()) {
    const size_t length = utf8_valid_sequence_length(text, pos);
    if (length > 0) {
      pos += length;
      continue;
    }
    if (pos > stretch_begin) transform(text.substr(stretch_begin, pos - stretch_begin), out);
    out.push_back(text[pos]);
    stretch_begin = ++pos;
  }
  if (pos > stretch_begin) transform(text.substr(stretch_begin, pos - stretch_begin), out);
  return out;
}

const icu::Normalizer2& normalizer_for(NormalForm form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = nullptr;
  switch (form) {
    case NormalForm::NFC:
      normalizer = icu::Normalizer2::getNFCInstance(status);
      break;
    case NormalForm::NFD:
      normalizer = icu::Normalizer2::getNFDInstance(status);
      break;
    case NormalForm::NFKC:
      normalizer = icu::Normalizer2::getNFKCInstance(status);
      break;
    case NormalForm::NFKD:
      normalizer = icu::Normalizer2::getNFKDInstance(status);
      break;
  }
  if (U_FAILURE(status) || !normalizer)
    throw runtime_error("ICU normaliser unavailable: {}", u_errorName(status));
  return *normalizer;
}

}  // namespace

std::string unicode_normalize(std::string_view text, NormalForm form) {
  if (is_ascii(text)) return std::string(text);  // ASCII is invariant under all four forms
  const icu::Normalizer2& normalizer = normalizer_for(form);
  return map_valid_stretches(text, [&](std::string_view valid, std::string& out) {
    UErrorCode status = U_ZERO_ERROR;
    icu::StringByteSink<std::string> sink(&out);
    normalizer.normalizeUTF8(0, icu::StringPiece(valid.data(), static_cast<int32_t>(valid.size())),
                             sink, nullptr, status);
    if (U_FAILURE(status)) throw runtime_error("ICU normalisation failed: {}", u_errorName(status));
  });
}

std::string unicode_lowercase(std::string_view text) {
  if (is_ascii(text)) {
    std::string out(text);
    for (char& c : out)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
  }
  return map_valid_stretches(text, [](std::string_view valid, std::string& out) {
    UErrorCode status = U_ZERO_ERROR;
    icu::StringByteSink<std::string> sink(&out);
    icu::CaseMap::utf8ToLower("", 0,
                              icu::StringPiece(valid.data(), static_cast<int32_t>(valid.size())),
                              sink, nullptr, status);
    if (U_FAILURE(status)) throw runtime_error("ICU lowercase failed: {}", u_errorName(status));
  });
}

bool is_white_space(char32_t c) {
  return u_isUWhiteSpace(static_cast<UChar32>(c));
}

bool is_numeric(char32_t c) {
  const auto category = u_charType(static_cast<UChar32>(c));
  return category == U_DECIMAL_DIGIT_NUMBER || category == U_LETTER_NUMBER ||
         category == U_OTHER_NUMBER;
}

bool is_alphanumeric(char32_t c) {
  return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_ALPHABETIC) || is_numeric(c);
}

bool is_nonspacing_mark(char32_t c) {
  return u_charType(static_cast<UChar32>(c)) == U_NON_SPACING_MARK;
}

}  // namespace tessera::text
