#include "tessera/mt/language_id.h"

#include <cld2/public/compact_lang_det.h>

namespace tessera::mt {

LanguageGuess identify_language(std::string_view text) {
  bool reliable = false;
  CLD2::Language lang =
      CLD2::DetectLanguage(text.data(), static_cast<int>(text.size()), true, &reliable);
  return {CLD2::LanguageCode(lang), reliable};
}

bool language_matches(std::string_view text, const std::string& expected) {
  if (expected.empty()) return true;
  LanguageGuess g = identify_language(text);
  if (!g.reliable || g.code == "un") return true;
  // CLD2 writes "zh-Hant" for traditional Chinese and some three-letter codes; compare the base.
  std::string base = g.code.substr(0, g.code.find('-'));
  if (expected == "no" && (base == "nb" || base == "nn")) return true;
  if (expected == "hr" || expected == "sr" || expected == "bs")
    return base == "hr" || base == "sr" || base == "bs";  // CLD2 confuses the standard variants
  if ((expected == "ms" && base == "id") || (expected == "id" && base == "ms")) return true;
  return base == expected;
}

}  // namespace tessera::mt
