#pragma once
// A small random model folder for the server tests: a llama with a byte-level tokenizer.json
// (the 256 byte tokens, no merges) plus <eos>, <|im_start|> and <|im_end|> as special tokens,
// and a tokenizer_config.json whose chat template is ChatML. It generates garbage, which is
// all the serving machinery needs.
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../common/byte_tokenizer.h"
#include "tessera/models/causal_lm.h"

namespace tessera::serve::testing {

using tessera::testing::byte_level_symbol;

inline nlohmann::json byte_tokenizer_json() {
  return tessera::testing::byte_tokenizer_json({"<eos>", "<|im_start|>", "<|im_end|>"});
}

// Writes the folder (model, tokenizer, config) and returns its path.
inline std::string write_tiny_model(const std::string& dir, uint64_t seed = 7, int64_t hidden = 32,
                                    int64_t layers = 2, int64_t context = 512) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  nlohmann::json config = {{"model_type", "llama"},       {"vocab_size", 259},
                           {"hidden_size", hidden},       {"intermediate_size", hidden * 2},
                           {"num_hidden_layers", layers}, {"num_attention_heads", 4},
                           {"num_key_value_heads", 2},    {"max_position_embeddings", context},
                           {"initializer_range", 0.5},    {"eos_token_id", 256}};
  auto model = models::create_model(config, seed);
  models::save_model(*model, dir);
  std::ofstream(dir + "/tokenizer.json") << byte_tokenizer_json().dump();
  nlohmann::json tokenizer_config = {
      {"eos_token", "<eos>"},
      {"chat_template",
       "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
       "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"}};
  std::ofstream(dir + "/tokenizer_config.json") << tokenizer_config.dump();
  return dir;
}

}  // namespace tessera::serve::testing

namespace tessera::serve::testing {

// A byte-level tokenizer.json whose vocabulary holds the 256 bytes, <eos> (id 256) and
// `extra` multi-byte tokens: JSON punctuation runs, digits, words and random byte strings
// (some of them invalid UTF-8 on their own), like a real BPE vocabulary's mix.
inline nlohmann::json synthetic_tokenizer_json(int extra, uint64_t seed) {
  nlohmann::json j = byte_tokenizer_json();
  nlohmann::json& vocab = j["model"]["vocab"];
  std::vector<std::string> pieces = {
      "{\"",  "\":",       "\",", "\"}",      "},",   "]}",   "[{",  "\":\"", "true", "false",
      "null", "00",        "12",  "3.",       ".5",   "e+",   "\\n", "\\u00", " the", "name",
      "age",  "\"name\":", "é",   "\xE2\x82", "\xAC", "\"\"", "[]",  "{}",    ",\"",  "-1"};
  uint64_t state = seed * 6364136223846793005ull + 1442695040888963407ull;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 33);
  };
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789{}[]\":,.-+ eE\\";
  std::set<std::string> seen;
  int id = 259;
  auto add = [&](const std::string& bytes) {
    if (bytes.size() < 2 || !seen.insert(bytes).second) return;
    std::string symbol;
    for (unsigned char c : bytes) symbol += byte_level_symbol(c);
    vocab[symbol] = id++;
  };
  for (const auto& p : pieces) add(p);
  while (id < 259 + extra) {
    size_t length = 2 + next() % 7;
    std::string bytes;
    for (size_t i = 0; i < length; ++i) {
      bytes += next() % 16 == 0 ? static_cast<char>(0x80 + next() % 0x80)
                                : alphabet[next() % alphabet.size()];
    }
    add(bytes);
  }
  return j;
}

}  // namespace tessera::serve::testing
