#include "tessera/text/tokenizer.h"

#include <omp.h>

#include <exception>
#include <filesystem>
#include <fstream>

#include "tessera/core/error.h"
#include "tessera/text/loaders.h"
#include "tessera/text/sentencepiece.h"

namespace tessera::text {
namespace {

namespace fs = std::filesystem;

// SentencePiece models behind the common interface. add_special prepends BOS (the Llama
// convention for SentencePiece models; formats that add EOS say so in tokenizer.json).
class SentencePieceAdapter final : public Tokenizer {
 public:
  explicit SentencePieceAdapter(SentencePieceTokenizer model) : model_(std::move(model)) {}

  std::vector<int32_t> encode(std::string_view text, bool add_special, bool) const override {
    std::vector<int32_t> ids;
    if (add_special && model_.bos_id() >= 0) ids.push_back(model_.bos_id());
    const std::vector<int> encoded = model_.encode_ids(text);
    ids.insert(ids.end(), encoded.begin(), encoded.end());
    return ids;
  }
  std::string decode(std::span<const int32_t> ids, bool skip_special) const override {
    std::vector<int> kept;
    kept.reserve(ids.size());
    for (int32_t id : ids) {
      TESSERA_CHECK_INPUT(id >= 0 && id < model_.vocab_size(),
                          "token id {} is not in the vocabulary (size {})", id,
                          model_.vocab_size());
      if (skip_special && model_.is_control(id)) continue;
      kept.push_back(id);
    }
    return model_.decode_ids(kept);
  }
  std::string id_to_token(int32_t id) const override { return model_.id_to_piece(id); }
  std::optional<int32_t> token_to_id(std::string_view token) const override {
    const int id = model_.piece_to_id(token);
    if (id == model_.unk_id() && token != model_.id_to_piece(id)) return std::nullopt;
    return id;
  }
  int32_t vocab_size() const override { return model_.vocab_size(); }
  std::optional<int32_t> bos_id() const override { return optional_id(model_.bos_id()); }
  std::optional<int32_t> eos_id() const override { return optional_id(model_.eos_id()); }
  std::optional<int32_t> pad_id() const override { return optional_id(model_.pad_id()); }
  std::vector<SpecialToken> special_tokens() const override {
    std::vector<SpecialToken> out;
    for (int id = 0; id < model_.vocab_size(); ++id)
      if (model_.is_control(id) || model_.is_unknown(id))
        out.push_back({model_.id_to_piece(id), id});
    return out;
  }
  bool is_special(int32_t id) const override {
    return id >= 0 && id < model_.vocab_size() && (model_.is_control(id) || model_.is_unknown(id));
  }
  std::string description() const override {
    return fmt::format("SentencePiece model ({} pieces)", model_.vocab_size());
  }

 private:
  static std::optional<int32_t> optional_id(int id) {
    return id >= 0 ? std::optional<int32_t>(id) : std::nullopt;
  }
  SentencePieceTokenizer model_;
};

bool has_suffix(const fs::path& path, std::string_view suffix) {
  return path.extension().string() == suffix;
}

// Content sniffing for files without a telling extension.
enum class SniffedFormat { Json, Tiktoken, Other };
SniffedFormat sniff(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(256, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  const size_t first = head.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && head[first] == '{') return SniffedFormat::Json;
  const size_t newline = head.find('\n');
  const std::string line = head.substr(0, newline);
  const size_t space = line.find(' ');
  std::string bytes;
  if (space != std::string::npos && space > 0 && decode_base64(line.substr(0, space), bytes) &&
      line.find_first_not_of("0123456789\r", space + 1) == std::string::npos)
    return SniffedFormat::Tiktoken;
  return SniffedFormat::Other;
}

std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& path) {
  return std::make_unique<SentencePieceAdapter>(SentencePieceTokenizer::load(path));
}

}  // namespace

std::vector<std::vector<int32_t>> Tokenizer::encode_batch(const std::vector<std::string>& texts,
                                                          bool add_special) const {
  std::vector<std::vector<int32_t>> out(texts.size());
  std::exception_ptr failure;
  // Documents differ wildly in length: hand them out one at a time.
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < texts.size(); ++i) {
    try {
      out[i] = encode(texts[i], add_special);
    } catch (...) {
#pragma omp critical(tessera_text_encode_batch)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  return out;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path,
                                          const TokenizerLoadOptions& options) {
  const fs::path p(path);
  TESSERA_CHECK_INPUT(fs::exists(p), "{}: no such file or directory", path);
  if (fs::is_directory(p)) {
    if (fs::is_regular_file(p / "tokenizer.json"))
      return load_hf_tokenizer_json((p / "tokenizer.json").string());
    if (fs::is_regular_file(p / "encoder.json") && fs::is_regular_file(p / "vocab.bpe"))
      return load_gpt2_directory(path);
    if (fs::is_regular_file(p / "tokenizer.model"))
      return load_sentencepiece((p / "tokenizer.model").string());
    for (const auto& entry : fs::directory_iterator(p)) {
      if (has_suffix(entry.path(), ".tiktoken"))
        return load_tiktoken(entry.path().string(), options.tiktoken_pattern,
                             options.tiktoken_special_tokens);
    }
    throw bad_input(
        "{}: no tokenizer here (looked for tokenizer.json, encoder.json + vocab.bpe, "
        "tokenizer.model, *.tiktoken)",
        path);
  }
  if (p.filename() == "encoder.json" || p.filename() == "vocab.bpe")
    return load_gpt2_directory(p.parent_path().empty() ? "." : p.parent_path().string());
  if (has_suffix(p, ".tiktoken"))
    return load_tiktoken(path, options.tiktoken_pattern, options.tiktoken_special_tokens);
  if (has_suffix(p, ".json")) return load_hf_tokenizer_json(path);
  if (has_suffix(p, ".model")) return load_sentencepiece(path);
  switch (sniff(path)) {
    case SniffedFormat::Json:
      return load_hf_tokenizer_json(path);
    case SniffedFormat::Tiktoken:
      return load_tiktoken(path, options.tiktoken_pattern, options.tiktoken_special_tokens);
    case SniffedFormat::Other:
      break;
  }
  return load_sentencepiece(path);
}

}  // namespace tessera::text
