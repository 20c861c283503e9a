#pragma once
// Pre-tokenizers cut normalised text into pieces that BPE encodes independently:
// ByteLevel, Split, Digits, Whitespace, WhitespaceSplit, Metaspace and Sequence from
// tokenizer.json, and the plain regex split tiktoken uses. Pieces are views into the text
// or into an arena that owns rewritten text (Metaspace, prefix spaces).
#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/text/regex.h"

namespace tessera::text {

struct PreToken {
  std::string_view text;
  bool at_text_start;  // begins at offset 0 of the original input (Metaspace "first")
};

// Owns rewritten piece text for the duration of one encode call. Strings are held by pointer
// so views stay valid as more are added; an unused arena allocates nothing.
class PieceArena {
 public:
  std::string_view keep(std::string text) {
    return *strings_.emplace_back(std::make_unique<std::string>(std::move(text)));
  }
  void clear() { strings_.clear(); }

 private:
  std::vector<std::unique_ptr<std::string>> strings_;
};

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` with their finer split; empty pieces are dropped.
  virtual void apply(std::vector<PreToken>& pieces, PieceArena& arena) const = 0;
  // True when this stage spells bytes in the byte-level alphabet (the model is byte-level).
  virtual bool is_byte_level() const { return false; }
};

// tokenizer.json "pre_tokenizer"; nullptr for null. Throws BadInput for unsupported types.
std::unique_ptr<PreTokenizer> pre_tokenizer_from_json(const nlohmann::json& spec);

// A regex split keeping both matches and the text between them (tiktoken; HF Isolated).
std::unique_ptr<PreTokenizer> make_regex_pre_tokenizer(const std::string& pattern,
                                                       RegexFlavor flavor);

// GPT-2's pre-tokenization pattern (HF ByteLevel with use_regex).
inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace tessera::text
