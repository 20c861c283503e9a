#pragma once
// Language identification with CLD2 (libcld2), used to drop catalogue entries whose
// "translation" is in another language (often left in English).
#include <string>
#include <string_view>

namespace tessera::mt {

struct LanguageGuess {
  std::string code;  // CLD2's code ("fr", "zh", "zh-Hant", "un" for unknown)
  bool reliable = false;
};

LanguageGuess identify_language(std::string_view utf8_text);

// False only when CLD2 reliably names a language other than `expected_cld2_code` (as
// returned by cld2_code_for); unknown expectations and unreliable guesses pass.
bool language_matches(std::string_view utf8_text, const std::string& expected_cld2_code);

}  // namespace tessera::mt
