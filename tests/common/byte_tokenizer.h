#pragma once
// A byte-level tokenizer.json for tests that need text from small random models: the 256 byte
// tokens under GPT-2's byte-to-unicode mapping, no merges, then the given special tokens from
// id 256 on. Enough to encode any text and decode any id sequence.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::testing {

// GPT-2's byte-to-unicode table: printable bytes map to themselves, the others to U+0100 on.
inline std::string byte_level_symbol(int b) {
  auto printable = [](int x) { return (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174; };
  int index = 256;
  for (int x = 0; x < b; ++x)
    if (!printable(x)) ++index;
  const auto cp = static_cast<uint32_t>(printable(b) ? b : index);
  std::string utf8;
  if (cp < 0x80) {
    utf8 = std::string(1, static_cast<char>(cp));
  } else {
    utf8 += static_cast<char>(0xC0 | (cp >> 6));
    utf8 += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return utf8;
}

inline nlohmann::json byte_tokenizer_json(const std::vector<std::string>& specials = {"<eos>"}) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level_symbol(b)] = b;
  nlohmann::json added = nlohmann::json::array();
  int id = 256;
  for (const std::string& special : specials) {
    added.push_back({{"id", id++},
                     {"content", special},
                     {"special", true},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false}});
  }
  const nlohmann::json byte_level = {{"type", "ByteLevel"},
                                     {"add_prefix_space", false},
                                     {"trim_offsets", true},
                                     {"use_regex", true}};
  nlohmann::json decoder = byte_level;
  decoder["add_prefix_space"] = true;
  return {{"version", "1.0"},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer", byte_level},
          {"post_processor", nullptr},
          {"decoder", decoder},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
}

}  // namespace tessera::testing
