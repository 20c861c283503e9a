#pragma once
// Loaders for the byte-level BPE formats. load_tokenizer() (tokenizer.h) picks one by path.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tessera/text/bpe_tokenizer.h"

namespace tessera::text {

// HF tokenizer.json with a BPE model. A tokenizer_config.json beside it (if any) supplies
// bos/eos/pad. Throws BadInput naming the file and the offending field.
std::unique_ptr<BpeTokenizer> load_hf_tokenizer_json(const std::string& path);
// Same from text in memory; `source` names it in errors; `config_json` may be empty.
std::unique_ptr<BpeTokenizer> parse_hf_tokenizer_json(std::string_view json_text,
                                                      const std::string& source,
                                                      std::string_view config_json = {});

// GPT-2's encoder.json + vocab.bpe from one directory.
std::unique_ptr<BpeTokenizer> load_gpt2_directory(const std::string& directory);

// tiktoken's settings for a standard encoding; nullopt for an unknown name.
struct TiktokenEncodingSpec {
  std::string pattern;
  std::map<std::string, int32_t> special_tokens;
};
std::optional<TiktokenEncodingSpec> standard_tiktoken_encoding(std::string_view name);

// A .tiktoken rank file. Standard encodings are recognised by the file name's stem
// (gpt2, r50k_base, p50k_base, p50k_edit, cl100k_base, o200k_base); for any other file
// `pattern` is required and `special_tokens` lists its special tokens.
std::unique_ptr<BpeTokenizer> load_tiktoken(
    const std::string& path, const std::optional<std::string>& pattern = {},
    const std::map<std::string, int32_t>& special_tokens = {});

// Base64 (standard alphabet, padding optional); false on a character outside it.
bool decode_base64(std::string_view text, std::string& out);
std::string encode_base64(std::string_view bytes);

std::string read_text_file(const std::string& path, std::string_view what);

}  // namespace tessera::text
