// tokenizer.json (HF tokenizers' serialisation) and GPT-2 directory loading.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tessera/text/json_fields.h"
#include "tessera/text/loaders.h"

namespace tessera::text {
namespace {

using namespace json_fields;
using nlohmann::json;

json parse_json(std::string_view text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw bad_input("{}: not valid JSON ({})", source, e.what());
  }
}

BpeModel::Merges parse_merges(const json& merges) {
  TESSERA_CHECK_INPUT(merges.is_array(), "model: 'merges' must be a list");
  BpeModel::Merges out;
  out.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& merge = merges[i];
    if (merge.is_string()) {  // "a b" (tokenizers < 0.20)
      const std::string& line = merge.get_ref<const std::string&>();
      const size_t space = line.find(' ');
      TESSERA_CHECK_INPUT(
          space != std::string::npos && line.find(' ', space + 1) == std::string::npos,
          "model: merge #{} '{}' must be two tokens separated by one space", i, line);
      out.emplace_back(line.substr(0, space), line.substr(space + 1));
    } else {  // ["a", "b"] (tokenizers >= 0.20, allows spaces inside tokens)
      TESSERA_CHECK_INPUT(
          merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string(),
          "model: merge #{} must be \"a b\" or [\"a\", \"b\"]", i);
      out.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    }
  }
  return out;
}

std::vector<AddedToken> parse_added_tokens(const json& list) {
  std::vector<AddedToken> tokens;
  if (list.is_null()) return tokens;
  TESSERA_CHECK_INPUT(list.is_array(), "'added_tokens' must be a list");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = fmt::format("added_tokens[{}]", i);
    const json& item = list[i];
    AddedToken token;
    token.id = static_cast<int32_t>(require_integer(item, "id", where));
    token.content = require_string(item, "content", where);
    token.special = optional_bool(item, "special", where, false);
    token.single_word = optional_bool(item, "single_word", where, false);
    token.lstrip = optional_bool(item, "lstrip", where, false);
    token.rstrip = optional_bool(item, "rstrip", where, false);
    token.normalized = optional_bool(item, "normalized", where, !token.special);
    tokens.push_back(std::move(token));
  }
  return tokens;
}

// tokenizer_config.json writes tokens as "<s>" or {"content": "<s>", ...}.
std::optional<std::string> config_token(const json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return std::nullopt;
  const json& value = config[key];
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string())
    return value["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

std::string read_text_file(const std::string& path, std::string_view what) {
  TESSERA_CHECK_INPUT(std::filesystem::is_regular_file(path), "{}: {} not found", path, what);
  std::ifstream in(path, std::ios::binary);
  TESSERA_CHECK_INPUT(in.good(), "{}: cannot open {}", path, what);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::unique_ptr<BpeTokenizer> parse_hf_tokenizer_json(std::string_view json_text,
                                                      const std::string& source,
                                                      std::string_view config_json) {
  try {
    const json root = parse_json(json_text, source);
    TESSERA_CHECK_INPUT(root.is_object(), "expected a JSON object at the top level");
    const json& model_spec = require(root, "model", "tokenizer");
    TESSERA_CHECK_INPUT(model_spec.is_object(), "'model' must be an object");
    const std::string model_type = optional_string(model_spec, "type", "model", "BPE");
    TESSERA_CHECK_INPUT(model_type == "BPE",
                        "model type '{}' is not supported here (only BPE; SentencePiece "
                        "models load from their .model file)",
                        model_type);
    const json& vocab_spec = require(model_spec, "vocab", "model BPE");
    TESSERA_CHECK_INPUT(vocab_spec.is_object(), "model BPE: 'vocab' must be an object");
    BpeModel::Vocab vocab;
    vocab.reserve(vocab_spec.size());
    for (const auto& [token, id] : vocab_spec.items()) {
      TESSERA_CHECK_INPUT(id.is_number_integer(), "model BPE: vocab entry '{}' must be an integer",
                          token);
      vocab.emplace_back(token, id.get<int32_t>());
    }
    const BpeModel::Merges merges = parse_merges(require(model_spec, "merges", "model BPE"));

    BpeTokenizerParts parts;
    parts.normalizer = normalizer_from_json(root.value("normalizer", json()));
    parts.pre_tokenizer = pre_tokenizer_from_json(root.value("pre_tokenizer", json()));
    parts.decoder = decoder_from_json(root.value("decoder", json()));
    parts.frame = post_processor_from_json(root.value("post_processor", json()));
    parts.added_tokens = parse_added_tokens(root.value("added_tokens", json()));

    BpeModelOptions options;
    options.byte_level = (parts.pre_tokenizer && parts.pre_tokenizer->is_byte_level()) ||
                         (parts.normalizer && parts.normalizer->is_byte_level());
    options.ignore_merges = optional_bool(model_spec, "ignore_merges", "model BPE", false);
    options.byte_fallback = optional_bool(model_spec, "byte_fallback", "model BPE", false);
    options.fuse_unk = optional_bool(model_spec, "fuse_unk", "model BPE", false);
    if (const auto unk = optional_string(model_spec, "unk_token", "model BPE"); !unk.empty())
      options.unk_token = unk;
    options.continuing_subword_prefix =
        optional_string(model_spec, "continuing_subword_prefix", "model BPE");
    options.end_of_word_suffix = optional_string(model_spec, "end_of_word_suffix", "model BPE");
    parts.model = BpeModel::from_merges(vocab, merges, options);

    // bos/eos: tokenizer_config.json, else the post-processor's frame.
    const json config =
        config_json.empty() ? json() : parse_json(config_json, "tokenizer_config.json");
    const auto resolve = [&](const char* key) -> std::optional<int32_t> {
      const auto name = config_token(config, key);
      if (!name) return std::nullopt;
      for (const auto& token : parts.added_tokens)
        if (token.content == *name) return token.id;
      const int32_t id = parts.model->spelling_to_id(*name);
      return id >= 0 ? std::optional<int32_t>(id) : std::nullopt;
    };
    parts.bos_id = resolve("bos_token");
    parts.eos_id = resolve("eos_token");
    parts.pad_id = resolve("pad_token");
    if (!parts.bos_id && parts.frame.prefix.size() == 1) parts.bos_id = parts.frame.prefix[0];
    if (!parts.eos_id && parts.frame.suffix.size() == 1) parts.eos_id = parts.frame.suffix[0];
    parts.description = fmt::format("tokenizer.json BPE ({}, {} tokens, {} merges)",
                                    options.byte_level ? "byte-level" : "character-level",
                                    parts.model->id_limit(), merges.size());
    return std::make_unique<BpeTokenizer>(std::move(parts));
  } catch (const Error& e) {
    throw e.with_context(source);
  }
}

std::unique_ptr<BpeTokenizer> load_hf_tokenizer_json(const std::string& path) {
  const std::string text = read_text_file(path, "tokenizer.json");
  const auto config_path = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  std::string config;
  if (std::filesystem::is_regular_file(config_path))
    config = read_text_file(config_path.string(), "tokenizer_config.json");
  return parse_hf_tokenizer_json(text, path, config);
}

std::unique_ptr<BpeTokenizer> load_gpt2_directory(const std::string& directory) {
  const auto encoder_path = (std::filesystem::path(directory) / "encoder.json").string();
  const auto merges_path = (std::filesystem::path(directory) / "vocab.bpe").string();
  const json encoder = parse_json(read_text_file(encoder_path, "GPT-2 encoder.json"), encoder_path);
  TESSERA_CHECK_INPUT(encoder.is_object(), "{}: expected an object of token -> id", encoder_path);
  BpeModel::Vocab vocab;
  vocab.reserve(encoder.size());
  for (const auto& [token, id] : encoder.items()) {
    TESSERA_CHECK_INPUT(id.is_number_integer(), "{}: id of '{}' must be an integer", encoder_path,
                        token);
    vocab.emplace_back(token, id.get<int32_t>());
  }
  // vocab.bpe: a "#version" line, then one "a b" merge per line.
  const std::string merges_text = read_text_file(merges_path, "GPT-2 vocab.bpe");
  BpeModel::Merges merges;
  std::istringstream lines(merges_text);
  std::string line;
  size_t line_number = 0;
  while (std::getline(lines, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_number == 1 && line.starts_with("#version"))) continue;
    const size_t space = line.find(' ');
    TESSERA_CHECK_INPUT(
        space != std::string::npos && line.find(' ', space + 1) == std::string::npos,
        "{}:{}: expected two tokens separated by one space", merges_path, line_number);
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  BpeTokenizerParts parts;
  try {
    BpeModelOptions options;
    options.byte_level = true;
    parts.model = BpeModel::from_merges(vocab, merges, options);
  } catch (const Error& e) {
    throw e.with_context(directory);
  }
  parts.pre_tokenizer = make_regex_pre_tokenizer(std::string(kGpt2Pattern), RegexFlavor::RustRegex);
  parts.decoder = make_byte_level_decoder();
  if (const int32_t eot = parts.model->spelling_to_id("<|endoftext|>"); eot >= 0) {
    parts.added_tokens.push_back({"<|endoftext|>", eot, true, false, false, false, false});
    parts.bos_id = parts.eos_id = eot;  // GPT-2 uses <|endoftext|> for both
  }
  parts.description =
      fmt::format("GPT-2 directory ({} tokens, {} merges)", vocab.size(), merges.size());
  return std::make_unique<BpeTokenizer>(std::move(parts));
}

}  // namespace tessera::text
