#pragma once
// The tokenizer interface the language-model stack uses, whatever the file format:
// tokenizer.json (BPE), tiktoken rank files, GPT-2 encoder.json + vocab.bpe directories and
// SentencePiece .model files all load through load_tokenizer().
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::text {

struct SpecialToken {
  std::string content;
  int32_t id;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Token ids of `text` (arbitrary bytes; invalid UTF-8 is encoded byte-wise where the
  // format can represent bytes). `add_special` adds BOS/EOS as the format's post-processor
  // says. `match_special`: special tokens written in the text ("<|endoftext|>") become their
  // ids, as in HF tokenizers and tiktoken's allowed_special="all"; false treats them as text.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special = false,
                                      bool match_special = true) const = 0;
  // Encodes many documents, in parallel over the OpenMP threads.
  virtual std::vector<std::vector<int32_t>> encode_batch(const std::vector<std::string>& texts,
                                                         bool add_special = false) const;
  // Text of `ids`; throws BadInput for an id outside the vocabulary.
  virtual std::string decode(std::span<const int32_t> ids, bool skip_special = false) const = 0;

  // The token's spelling in the vocabulary ("Ġthe", "▁the", "<|endoftext|>").
  virtual std::string id_to_token(int32_t id) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  // One past the largest id (the embedding table size).
  virtual int32_t vocab_size() const = 0;
  virtual std::optional<int32_t> bos_id() const = 0;
  virtual std::optional<int32_t> eos_id() const = 0;
  virtual std::optional<int32_t> pad_id() const { return std::nullopt; }
  virtual std::vector<SpecialToken> special_tokens() const = 0;
  virtual bool is_special(int32_t id) const = 0;
  // What was loaded, e.g. "tiktoken cl100k_base", "tokenizer.json BPE (byte-level)".
  virtual std::string description() const = 0;
};

struct TokenizerLoadOptions {
  // For .tiktoken files that are not a standard encoding: the pre-tokenizer regex and the
  // special tokens (content -> id). Standard encodings are recognised by file name.
  std::optional<std::string> tiktoken_pattern;
  std::map<std::string, int32_t> tiktoken_special_tokens;
};

// Detects the format: a directory holding tokenizer.json, encoder.json + vocab.bpe, or
// tokenizer.model; or a file ending in .json, .tiktoken or .model (other files are sniffed).
// Throws BadInput naming the path when nothing there is a tokenizer.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path,
                                          const TokenizerLoadOptions& options = {});

}  // namespace tessera::text
