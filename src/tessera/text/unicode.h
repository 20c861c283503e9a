#pragma once
// Unicode normalisation, case mapping and character properties (backed by ICU). Each
// function accepts invalid UTF-8: valid stretches are transformed and invalid bytes are
// copied through unchanged, so byte-wise fallbacks downstream still see every input byte.
#include <string>
#include <string_view>

namespace tessera::text {

enum class NormalForm { NFC, NFD, NFKC, NFKD };

std::string unicode_normalize(std::string_view text, NormalForm form);
// Full Unicode lowercase mapping without locale tailoring (Rust's str::to_lowercase).
std::string unicode_lowercase(std::string_view text);

// Properties matching Rust's char methods, which HF tokenizers uses.
bool is_white_space(char32_t c);      // char::is_whitespace (White_Space)
bool is_numeric(char32_t c);          // char::is_numeric (Nd, Nl, No)
bool is_alphanumeric(char32_t c);     // char::is_alphanumeric (Alphabetic or numeric)
bool is_nonspacing_mark(char32_t c);  // general category Mn

}  // namespace tessera::text
