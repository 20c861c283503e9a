#include "tessera/mt/nllb_tokenizer.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tessera/core/error.h"
#include "tessera/core/io/atomic_file.h"

namespace tessera::mt {

namespace fs = std::filesystem;

namespace {
nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::exception& e) {
    throw bad_input("{}: invalid JSON: {}", path.string(), e.what());
  }
}

void write_text(const fs::path& path, const std::string& text) {
  io::AtomicFileWriter writer(path.string());
  writer.write(text);
  writer.commit();
}

std::vector<std::string> codes_from(const nlohmann::json& j) {
  std::vector<std::string> codes;
  if (!j.is_object() || !j.contains("additional_special_tokens")) return codes;
  for (const auto& item : j["additional_special_tokens"]) {
    // Either plain strings or AddedToken objects {"content": ...}.
    if (item.is_string())
      codes.push_back(item.get<std::string>());
    else if (item.is_object() && item.contains("content"))
      codes.push_back(item["content"].get<std::string>());
  }
  return codes;
}
}  // namespace

NllbTokenizer::NllbTokenizer(text::SentencePieceTokenizer pieces, std::vector<std::string> codes)
    : pieces_(std::move(pieces)), codes_(std::move(codes)) {
  piece_count_ = pieces_.vocab_size();
}

NllbTokenizer NllbTokenizer::from_parts(text::SentencePieceTokenizer pieces,
                                        std::vector<std::string> language_codes) {
  TESSERA_CHECK_INPUT(!language_codes.empty(),
                      "an NLLB tokenizer needs at least one language code");
  return NllbTokenizer(std::move(pieces), std::move(language_codes));
}

NllbTokenizer NllbTokenizer::load(const std::string& dir) {
  fs::path model = fs::path(dir) / "sentencepiece.bpe.model";
  if (!fs::exists(model)) {
    model.clear();
    if (fs::is_directory(dir))
      for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".model") model = e.path();
  }
  TESSERA_CHECK_INPUT(!model.empty(),
                      "{}: no sentencepiece.bpe.model (the NLLB tokenizer) in the folder", dir);
  std::vector<std::string> codes;
  for (const char* name : {"special_tokens_map.json", "tokenizer_config.json"}) {
    fs::path p = fs::path(dir) / name;
    if (codes.empty() && fs::exists(p)) codes = codes_from(read_json(p));
  }
  TESSERA_CHECK_INPUT(
      !codes.empty(),
      "{}: no language codes (\"additional_special_tokens\" in special_tokens_map.json or "
      "tokenizer_config.json)",
      dir);
  return NllbTokenizer(text::SentencePieceTokenizer::load(model.string()), std::move(codes));
}

void NllbTokenizer::save(const std::string& dir) const {
  fs::create_directories(dir);
  write_text(fs::path(dir) / "sentencepiece.bpe.model", pieces_.serialized_model());
  nlohmann::json special = {{"bos_token", "<s>"},     {"eos_token", "</s>"},
                            {"unk_token", "<unk>"},   {"pad_token", "<pad>"},
                            {"mask_token", "<mask>"}, {"sep_token", "</s>"},
                            {"cls_token", "<s>"},     {"additional_special_tokens", codes_}};
  write_text(fs::path(dir) / "special_tokens_map.json", special.dump(2) + "\n");
  nlohmann::json config = special;
  config["tokenizer_class"] = "NllbTokenizer";
  config["legacy_behaviour"] = false;
  config["model_max_length"] = 1024;
  write_text(fs::path(dir) / "tokenizer_config.json", config.dump(2) + "\n");
}

int32_t NllbTokenizer::vocab_size() const {
  return piece_count_ + 1 + static_cast<int32_t>(codes_.size()) + 1;
}

bool NllbTokenizer::has_language(std::string_view code) const {
  return std::find(codes_.begin(), codes_.end(), code) != codes_.end();
}

int32_t NllbTokenizer::language_id(std::string_view code) const {
  auto it = std::find(codes_.begin(), codes_.end(), code);
  if (it == codes_.end()) {
    std::string known;
    for (size_t i = 0; i < codes_.size() && i < 12; ++i) known += (i ? ", " : "") + codes_[i];
    if (codes_.size() > 12) known += ", ...";
    throw bad_input("language code \"{}\" is not in the tokenizer ({} codes: {})", code,
                    codes_.size(), known);
  }
  return piece_count_ + 1 + static_cast<int32_t>(it - codes_.begin());
}

bool NllbTokenizer::is_special(int32_t id) const {
  return id <= kUnk || id > piece_count_;
}

std::vector<int32_t> NllbTokenizer::encode_text(std::string_view text) const {
  std::vector<int> raw = pieces_.encode_ids(text);
  std::vector<int32_t> ids;
  ids.reserve(raw.size());
  for (int id : raw) ids.push_back(id == pieces_.unk_id() ? kUnk : id + 1);
  return ids;
}

std::vector<int32_t> NllbTokenizer::encode_source(std::string_view text, std::string_view src_lang,
                                                  bool legacy) const {
  const int32_t lang = language_id(src_lang);
  std::vector<int32_t> body = encode_text(text);
  std::vector<int32_t> ids;
  ids.reserve(body.size() + 2);
  if (!legacy) ids.push_back(lang);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.push_back(kEos);
  if (legacy) ids.push_back(lang);
  return ids;
}

std::vector<int32_t> NllbTokenizer::encode_target(std::string_view text,
                                                  std::string_view tgt_lang) const {
  std::vector<int32_t> ids = {language_id(tgt_lang)};
  std::vector<int32_t> body = encode_text(text);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.push_back(kEos);
  return ids;
}

std::string NllbTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::vector<int> raw;
  for (int32_t id : ids) {
    if (id == kUnk)
      raw.push_back(pieces_.unk_id());
    else if (!is_special(id))
      raw.push_back(id - 1);
  }
  return pieces_.decode_ids(raw);
}

}  // namespace tessera::mt
