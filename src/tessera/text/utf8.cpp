#include "tessera/text/utf8.h"

namespace tessera::text {

size_t utf8_valid_sequence_length(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const size_t remaining = text.size() - pos;
  const uint8_t lead = byte(pos);
  if (lead < 0x80) return 1;
  const auto is_continuation = [&](size_t i) { return (byte(i) & 0xC0) == 0x80; };
  if (lead >= 0xC2 && lead <= 0xDF) {
    return remaining >= 2 && is_continuation(pos + 1) ? 2 : 0;
  }
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (remaining < 3 || !is_continuation(pos + 1) || !is_continuation(pos + 2)) return 0;
    const uint8_t second = byte(pos + 1);
    if (lead == 0xE0 && second < 0xA0) return 0;   // overlong
    if (lead == 0xED && second >= 0xA0) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (remaining < 4 || !is_continuation(pos + 1) || !is_continuation(pos + 2) ||
        !is_continuation(pos + 3))
      return 0;
    const uint8_t second = byte(pos + 1);
    if (lead == 0xF0 && second < 0x90) return 0;   // overlong
    if (lead == 0xF4 && second >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

char32_t utf8_decode(std::string_view text, size_t pos, size_t length) {
  const auto byte = [&](size_t i) { return static_cast<char32_t>(static_cast<uint8_t>(text[i])); };
  switch (length) {
    case 1:
      return byte(pos);
    case 2:
      return ((byte(pos) & 0x1F) << 6) | (byte(pos + 1) & 0x3F);
    case 3:
      return ((byte(pos) & 0x0F) << 12) | ((byte(pos + 1) & 0x3F) << 6) | (byte(pos + 2) & 0x3F);
    default:
      return ((byte(pos) & 0x07) << 18) | ((byte(pos + 1) & 0x3F) << 12) |
             ((byte(pos + 2) & 0x3F) << 6) | (byte(pos + 3) & 0x3F);
  }
}

bool utf8_is_valid(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    // ASCII fast path: eight bytes at a time.
    while (pos + 8 <= text.size()) {
      uint64_t chunk;
      __builtin_memcpy(&chunk, text.data() + pos, 8);
      if (chunk & 0x8080808080808080ull) break;
      pos += 8;
    }
    if (pos >= text.size()) break;
    const size_t length = utf8_valid_sequence_length(text, pos);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

const std::array<char32_t, 256>& byte_to_unicode_table() {
  // Printable Latin-1 bytes keep their code point; the other 68 bytes (controls, space,
  // DEL, NBSP, soft hyphen...) are moved, in byte order, to U+0100 onwards.
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> map{};
    const auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    char32_t next_moved = 0x100;
    for (int b = 0; b < 256; ++b) map[b] = printable(b) ? static_cast<char32_t>(b) : next_moved++;
    return map;
  }();
  return table;
}

std::string bytes_to_byte_level(std::string_view bytes) {
  const auto& table = byte_to_unicode_table();
  std::string spelled;
  spelled.reserve(bytes.size() * 2);
  for (char c : bytes) utf8_append(spelled, table[static_cast<uint8_t>(c)]);
  return spelled;
}

bool byte_level_to_bytes(std::string_view spelled, std::string& bytes) {
  // Code points of the alphabet are all below U+0144, so a direct table inverts it.
  static const std::array<int16_t, 0x144> inverse = [] {
    std::array<int16_t, 0x144> map{};
    map.fill(-1);
    const auto& table = byte_to_unicode_table();
    for (int b = 0; b < 256; ++b) map[table[b]] = static_cast<int16_t>(b);
    return map;
  }();
  bytes.clear();
  for (size_t pos = 0; pos < spelled.size();) {
    const size_t length = utf8_valid_sequence_length(spelled, pos);
    if (length == 0) return false;
    const char32_t cp = utf8_decode(spelled, pos, length);
    if (cp >= inverse.size() || inverse[cp] < 0) return false;
    bytes.push_back(static_cast<char>(inverse[cp]));
    pos += length;
  }
  return true;
}

int parse_byte_token(std::string_view token) {
  if (token.size() != 6 || token.substr(0, 3) != "<0x" || token[5] != '>') return -1;
  int value = 0;
  for (size_t i = 3; i < 5; ++i) {
    const char c = token[i];
    int digit;
    if (c >= '0' && c <= '9')
      digit = c - '0';
    else if (c >= 'A' && c <= 'F')
      digit = c - 'A' + 10;
    else if (c >= 'a' && c <= 'f')
      digit = c - 'a' + 10;
    else
      return -1;
    value = value * 16 + digit;
  }
  return value;
}

}  // namespace tessera::text
