#include "tessera/text/added_vocabulary.h"

#include <algorithm>

#include "tessera/text/unicode.h"
#include "tessera/text/utf8.h"

namespace tessera::text {
namespace {

bool is_word_char(char32_t c) {
  return c == '_' || is_alphanumeric(c);
}

// The code point ending just before `end`, or 0 when there is none / it is invalid.
char32_t char_before(std::string_view text, size_t end) {
  if (end == 0) return 0;
  size_t start = end - 1;
  while (start > 0 && end - start < 4 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80)
    --start;
  const size_t length = utf8_valid_sequence_length(text, start);
  return length == end - start ? utf8_decode(text, start, length) : 0;
}

char32_t char_at(std::string_view text, size_t pos) {
  if (pos >= text.size()) return 0;
  const size_t length = utf8_valid_sequence_length(text, pos);
  return length ? utf8_decode(text, pos, length) : 0;
}

}  // namespace

void AddedTokenMatcher::add(const AddedToken& token, std::string match_content) {
  if (match_content.empty()) return;
  int32_t node = 0;
  for (char c : match_content) {
    const auto byte = static_cast<uint8_t>(c);
    int32_t next = child(node, byte);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_[node].children.emplace_back(byte, next);
      nodes_.emplace_back();
    }
    node = next;
  }
  first_bytes_[static_cast<uint8_t>(match_content[0])] = true;
  // A later token with identical content replaces the earlier one (same as HF's map).
  if (nodes_[node].entry >= 0) {
    entries_[nodes_[node].entry] = token;
  } else {
    nodes_[node].entry = static_cast<int32_t>(entries_.size());
    entries_.push_back(token);
  }
}

int32_t AddedTokenMatcher::child(int32_t node, uint8_t byte) const {
  for (const auto& [b, next] : nodes_[node].children)
    if (b == byte) return next;
  return -1;
}

int32_t AddedTokenMatcher::longest_at(std::string_view text, size_t pos, bool match_special,
                                      size_t& end) const {
  int32_t node = 0, found = -1;
  for (size_t i = pos; i < text.size(); ++i) {
    node = child(node, static_cast<uint8_t>(text[i]));
    if (node < 0) break;
    const int32_t entry = nodes_[node].entry;
    if (entry >= 0 && (match_special || !entries_[entry].special)) {
      found = entry;
      end = i + 1;
    }
  }
  return found;
}

void AddedTokenMatcher::split(std::string_view text, bool match_special,
                              std::vector<TextSegment>& out) const {
  if (entries_.empty()) {
    if (!text.empty()) out.push_back({0, text.size(), -1});
    return;
  }
  size_t consumed = 0;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    if (!first_bytes_[static_cast<uint8_t>(text[pos])]) continue;
    size_t stop = 0;
    const int32_t entry = longest_at(text, pos, match_special, stop);
    if (entry < 0) continue;
    const AddedToken& token = entries_[entry];
    size_t start = pos;
    if (token.single_word) {
      const bool word_before = is_word_char(char_before(text, start));
      const bool word_after = is_word_char(char_at(text, stop));
      if (word_before || word_after) continue;
    }
    if (token.lstrip) {
      while (start > consumed) {
        const char32_t c = char_before(text, start);
        if (c == 0 || !is_white_space(c)) break;
        size_t length = 1;
        while (length < 4 && start - length > 0 &&
               (static_cast<uint8_t>(text[start - length]) & 0xC0) == 0x80)
          ++length;
        start -= utf8_valid_sequence_length(text, start - length) == length ? length : 1;
      }
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        const size_t length = utf8_valid_sequence_length(text, stop);
        if (length == 0 || !is_white_space(utf8_decode(text, stop, length))) break;
        stop += length;
      }
    }
    if (consumed < start) out.push_back({consumed, start, -1});
    out.push_back({start, stop, token.id});
    consumed = stop;
    pos = stop - 1;  // the loop's ++pos continues right after the match
  }
  if (consumed < text.size()) out.push_back({consumed, text.size(), -1});
}

}  // namespace tessera::text
