#pragma once
// UTF-8 helpers shared by the tokenizers. Input text is arbitrary bytes: every function here
// accepts invalid UTF-8 and treats each byte of an invalid sequence as its own unit, so
// tokenizers can always fall back to byte-wise handling instead of failing.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tessera::text {

// Length in bytes of the UTF-8 sequence starting at text[pos] if it is a valid, shortest-form
// encoding of a scalar value; 0 if the bytes there are not valid UTF-8.
size_t utf8_valid_sequence_length(std::string_view text, size_t pos);

// Length of the unit starting at text[pos]: a valid UTF-8 sequence, or 1 for an invalid byte.
inline size_t utf8_unit_length(std::string_view text, size_t pos) {
  const size_t length = utf8_valid_sequence_length(text, pos);
  return length == 0 ? 1 : length;
}

// Decodes the code point at text[pos] (caller ensures a valid sequence of `length` bytes).
char32_t utf8_decode(std::string_view text, size_t pos, size_t length);

bool utf8_is_valid(std::string_view text);

// Appends the UTF-8 encoding of a Unicode scalar value.
void utf8_append(std::string& out, char32_t code_point);

// GPT-2's reversible map from bytes to printable code points (the "byte-level" alphabet used
// by every byte-level BPE vocabulary: space becomes U+0120 'Ġ', newline U+010A 'Ċ').
const std::array<char32_t, 256>& byte_to_unicode_table();

// Maps raw bytes to their byte-level alphabet spelling (UTF-8 encoded).
std::string bytes_to_byte_level(std::string_view bytes);

// Inverse of bytes_to_byte_level; returns false when some character is not in the alphabet.
bool byte_level_to_bytes(std::string_view spelled, std::string& bytes);

// Parses a SentencePiece-style byte token "<0xAB>"; returns -1 when `token` is not one.
int parse_byte_token(std::string_view token);

}  // namespace tessera::text
