#include "tessera/train/data_tokenizer.h"

#include <filesystem>

#include "tessera/core/error.h"
#include "tessera/train/data_hash.h"

namespace tessera::train {
namespace fs = std::filesystem;

std::optional<int32_t> end_of_document_id(const text::Tokenizer& tokenizer) {
  if (auto eos = tokenizer.eos_id()) return eos;
  for (const char* spelling : {"<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"}) {
    for (const text::SpecialToken& special : tokenizer.special_tokens()) {
      if (special.content == spelling) return special.id;
    }
  }
  return std::nullopt;
}

std::string tokenizer_file_sha256(const std::string& path) {
  if (fs::is_directory(path)) {
    // A folder: hash the file that defines the vocabulary; GPT-2 folders have two, so their
    // hash covers both in a fixed order.
    for (const char* name : {"tokenizer.json", "tokenizer.model"}) {
      const fs::path file = fs::path(path) / name;
      if (fs::is_regular_file(file)) return sha256_file_hex(file.string());
    }
    Sha256 combined;
    for (const char* name : {"encoder.json", "vocab.bpe"}) {
      const fs::path file = fs::path(path) / name;
      TESSERA_CHECK_INPUT(fs::is_regular_file(file), "{}: no tokenizer file found to hash",
                          path);
      combined.update(sha256_file_hex(file.string()));
    }
    return combined.hex_digest();
  }
  return sha256_file_hex(path);
}

TokenEncoder make_token_encoder(std::shared_ptr<const text::Tokenizer> tokenizer,
                                const std::string& path) {
  TokenEncoder encoder;
  encoder.path = path;
  encoder.sha256 = tokenizer_file_sha256(path);
  encoder.vocab_size = tokenizer->vocab_size();
  encoder.eos_token_id = end_of_document_id(*tokenizer);
  encoder.encode = [tokenizer](std::string_view text, std::vector<int32_t>& ids) {
    std::vector<int32_t> encoded =
        tokenizer->encode(text, /*add_special=*/false, /*match_special=*/false);
    ids.insert(ids.end(), encoded.begin(), encoded.end());
  };
  return encoder;
}

TokenEncoder load_token_encoder(const std::string& path) {
  std::shared_ptr<const text::Tokenizer> tokenizer = text::load_tokenizer(path);
  return make_token_encoder(std::move(tokenizer), path);
}

}  // namespace tessera::train
