#pragma once
// Python `str` semantics on UTF-8 text, as sacrebleu relies on them: which characters
// `str.split()` and `str.rstrip()` treat as whitespace, what `str.lower()` maps a character
// to, and the Unicode general categories its tokenizers test (\p{P}, \p{S}, \p{N}).
// Every function expects valid UTF-8 (files are validated when they are read).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::mt {

// Decodes the code point that starts at byte `pos` and advances `pos` past it.
char32_t next_code_point(std::string_view text, size_t& pos);
// Byte length of the UTF-8 sequence that starts with `lead_byte` (1 for a stray byte).
inline size_t utf8_sequence_length(unsigned char lead_byte) {
  if (lead_byte < 0x80) return 1;
  if (lead_byte >= 0xF0) return 4;
  if (lead_byte >= 0xE0) return 3;
  if (lead_byte >= 0xC0) return 2;
  return 1;
}
void append_utf8(std::string& out, char32_t code_point);
std::u32string to_code_points(std::string_view text);

// Returns the byte offset of the first invalid UTF-8 sequence (overlong forms, surrogates and
// values past U+10FFFF included), or std::string_view::npos when the text is valid.
size_t find_invalid_utf8(std::string_view text);

// Python's whitespace: categories Zs plus bidi classes B, S and WS (str.isspace()), e.g.
// no-break space U+00A0 and ideographic space U+3000 but not zero-width space U+200B.
bool is_python_whitespace(char32_t code_point);

// str.split(): fields separated by runs of whitespace, none empty. Views into `text`.
std::vector<std::string_view> split_whitespace(std::string_view text);
void split_whitespace(std::string_view text, std::vector<std::string_view>& fields);
// str.rstrip() and str.strip() with no argument.
std::string_view rstrip_whitespace(std::string_view text);
std::string_view strip_whitespace(std::string_view text);
// ' '.join(text.split()): single spaces between fields, none at either end.
std::string collapse_whitespace(std::string_view text);

// str.lower(): full Unicode lowercasing (İ becomes i + U+0307, a final Σ becomes ς), with
// an ASCII fast path.
std::string python_lower(std::string_view text);

// Unicode general categories (ICU's tables): P* punctuation, S* symbols, N* numbers.
bool is_unicode_punctuation(char32_t code_point);
bool is_unicode_symbol(char32_t code_point);
bool is_unicode_number(char32_t code_point);
// Script Han (CJK ideographs), used by the toxicity tokenizer to split unsegmented text.
bool is_han(char32_t code_point);

}  // namespace tessera::mt
