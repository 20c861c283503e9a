#pragma once
// Added tokens (tokenizer.json "added_tokens", tiktoken special tokens): matched in the text
// before pre-tokenization, leftmost-longest, with HF's single_word / lstrip / rstrip /
// normalized options. Tokens with normalized=false are matched in the raw text, the others
// in the normalised text.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::text {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;      // control token: skipped by decode(skip_special) and optional
                             // to match (encode with match_special=false)
  bool single_word = false;  // only match when not inside a word
  bool lstrip = false;       // also swallow whitespace on the left
  bool rstrip = false;       // also swallow whitespace on the right
  bool normalized = false;   // matched after normalisation
};

// A stretch of input: text to tokenize (id < 0) or one added token.
struct TextSegment {
  size_t begin, end;
  int32_t id;
};

// Leftmost-longest matcher over a set of added tokens (a byte trie).
class AddedTokenMatcher {
 public:
  void add(const AddedToken& token, std::string match_content);
  bool empty() const { return entries_.empty(); }
  // Splits `text` into segments; special tokens are skipped when `match_special` is false.
  void split(std::string_view text, bool match_special, std::vector<TextSegment>& out) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // byte -> node index
    int32_t entry = -1;                                 // token ending here
  };
  int32_t child(int32_t node, uint8_t byte) const;
  // Longest token starting at `pos`; returns entry index or -1 and sets `end`.
  int32_t longest_at(std::string_view text, size_t pos, bool match_special, size_t& end) const;

  std::vector<Node> nodes_{Node{}};
  std::vector<AddedToken> entries_;
  bool first_bytes_[256] = {};
};

}  // namespace tessera::text
