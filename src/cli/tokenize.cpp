// `tessera tokenize` (text <-> ids with any supported tokenizer) and `tessera tokenizer train`
// (byte-level BPE or SentencePiece unigram/BPE from text files).
#include <fmt/format.h>
#include <omp.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "tessera/core/error.h"
#include "tessera/text/bpe_trainer.h"
#include "tessera/text/sentencepiece.h"
#include "tessera/text/tokenizer.h"

namespace tessera::cli {
namespace {

std::string read_all_stdin() {
  std::ios::sync_with_stdio(false);
  std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  return text;
}

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r' || *p == ',')) ++p;
    if (p == end) break;
    const char* word_end = p;
    while (word_end < end && !(*word_end == ' ' || *word_end == '\n' || *word_end == '\t' ||
                               *word_end == '\r' || *word_end == ','))
      ++word_end;
    int32_t id = 0;
    const auto [stop, error] = std::from_chars(p, word_end, id);
    TESSERA_CHECK_INPUT(error == std::errc() && stop == word_end,
                        "stdin: \"{}\" is not a token id (expected integers separated by spaces)",
                        std::string(p, word_end));
    ids.push_back(id);
    p = word_end;
  }
  return ids;
}

// --special accepts "<|endoftext|>=100257".
std::map<std::string, int32_t> parse_special_tokens(const std::vector<std::string>& items) {
  std::map<std::string, int32_t> tokens;
  for (const auto& item : items) {
    const size_t eq = item.rfind('=');
    TESSERA_CHECK_INPUT(eq != std::string::npos && eq > 0,
                        "--special \"{}\": expected TOKEN=ID, e.g. \"<|endoftext|>=100257\"", item);
    int32_t id = 0;
    const char* first = item.data() + eq + 1;
    const char* last = item.data() + item.size();
    const auto [stop, error] = std::from_chars(first, last, id);
    TESSERA_CHECK_INPUT(error == std::errc() && stop == last && id >= 0,
                        "--special \"{}\": the id after '=' must be a non-negative integer", item);
    tokens[item.substr(0, eq)] = id;
  }
  return tokens;
}

struct TokenizeArgs {
  std::string tokenizer;
  bool decode = false, pieces = false, count = false, add_special = false, json = false;
  std::optional<std::string> pattern;
  std::vector<std::string> special;
};

void run_tokenize(const TokenizeArgs& args) {
  TESSERA_CHECK_INPUT(int(args.decode) + int(args.pieces) + int(args.count) <= 1,
                      "--decode, --pieces and --count exclude each other");
  text::TokenizerLoadOptions options;
  options.tiktoken_pattern = args.pattern;
  options.tiktoken_special_tokens = parse_special_tokens(args.special);
  const auto tokenizer = text::load_tokenizer(args.tokenizer, options);
  const std::string input = read_all_stdin();

  if (args.decode) {
    const std::string text = tokenizer->decode(parse_ids(input));
    if (args.json) {
      // JSON strings must be UTF-8; invalid bytes become U+FFFD only in this form.
      fmt::print("{}\n", nlohmann::json({{"text", text}})
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
    return;
  }
  const std::vector<int32_t> ids = tokenizer->encode(input, args.add_special);
  if (args.count) {
    if (args.json)
      fmt::print("{}\n", nlohmann::json({{"count", ids.size()}, {"bytes", input.size()}}).dump());
    else
      fmt::print("{}\n", ids.size());
    return;
  }
  if (args.pieces) {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) tokens.push_back(tokenizer->id_to_token(id));
    if (args.json) {
      fmt::print("{}\n", nlohmann::json({{"tokens", tokens}, {"ids", ids}})
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
      fmt::print("{}\n", fmt::join(tokens, " "));
    }
    return;
  }
  if (args.json)
    fmt::print("{}\n", nlohmann::json({{"ids", ids}}).dump());
  else
    fmt::print("{}\n", fmt::join(ids, " "));
}

void add_tokenize(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* cmd = app.add_subcommand(
      "tokenize",
      "Encode stdin to token ids (or decode ids) with a tokenizer.json, .tiktoken "
      "file, GPT-2 directory or SentencePiece .model");
  cmd->add_option("--tokenizer", args->tokenizer,
                  "tokenizer.json, NAME.tiktoken, a GPT-2 directory (encoder.json + vocab.bpe), "
                  "a SentencePiece .model, or a folder holding one")
      ->required();
  cmd->add_flag("--decode", args->decode, "read ids from stdin and print the text");
  cmd->add_flag("--pieces", args->pieces, "print the tokens instead of ids");
  cmd->add_flag("--count", args->count, "print the number of tokens");
  cmd->add_flag("--add-special", args->add_special,
                "add BOS/EOS as the tokenizer's post-processor says");
  cmd->add_option("--pattern", args->pattern,
                  "pre-tokenizer regex for a .tiktoken file that is not a standard encoding");
  cmd->add_option("--special", args->special,
                  "special token of a non-standard .tiktoken file, as TOKEN=ID (repeatable)");
  cmd->add_flag("--json", args->json, "machine-readable output");
  cmd->callback([args] { run_tokenize(*args); });
}

struct TrainArgs {
  std::string kind;
  int vocab = 0;
  std::vector<std::string> inputs;
  std::string out;
  int64_t min_frequency = 2;
  std::vector<std::string> special = {"<|endoftext|>"};
  double character_coverage = 0.9995;
  bool json = false;
};

void run_train(const TrainArgs& args) {
  namespace fs = std::filesystem;
  for (const auto& input : args.inputs)
    TESSERA_CHECK_INPUT(fs::is_regular_file(input), "--input {}: no such file", input);
  nlohmann::json summary = {{"kind", args.kind}, {"out", args.out}};
  if (args.kind == "bpe") {
    text::BpeTrainOptions options;
    options.input_files = args.inputs;
    options.vocab_size = args.vocab;
    options.min_frequency = args.min_frequency;
    options.special_tokens = args.special;
    options.verbose = !args.json;
    const auto result = text::train_and_save_byte_level_bpe(options, args.out);
    summary["vocab_size"] = result.token_bytes.size();
    summary["merges"] = result.merges.size();
    summary["corpus_bytes"] = result.corpus_bytes;
    summary["files"] = {(fs::path(args.out) / "tokenizer.json").string(),
                        (fs::path(args.out) / "tokenizer_config.json").string()};
  } else {
    text::SentencePieceTrainOptions options;
    options.input_files = args.inputs;
    options.model_prefix = (fs::path(args.out) / "tokenizer").string();
    options.vocab_size = args.vocab;
    options.model_type = args.kind == "sentencepiece-bpe" ? text::SentencePieceModelType::Bpe
                                                          : text::SentencePieceModelType::Unigram;
    options.character_coverage = args.character_coverage;
    options.num_threads =
        global_options().threads > 0 ? global_options().threads : omp_get_max_threads();
    fs::create_directories(args.out);
    text::train_sentencepiece(options);
    const auto model = text::SentencePieceTokenizer::load(options.model_prefix + ".model");
    summary["vocab_size"] = model.vocab_size();
    summary["files"] = {options.model_prefix + ".model", options.model_prefix + ".vocab"};
  }
  if (args.json) {
    fmt::print("{}\n", summary.dump());
  } else {
    fmt::print("trained {} tokenizer with {} tokens -> {}\n", args.kind,
               summary["vocab_size"].get<int64_t>(), summary["files"][0].get<std::string>());
  }
}

void add_tokenizer_train(CLI::App& app) {
  auto* group = app.add_subcommand("tokenizer", "Tokenizer tools");
  group->require_subcommand(1);
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = group->add_subcommand("train", "Train a tokenizer from text files");
  cmd->add_option("--kind", args->kind,
                  "bpe (byte-level, writes tokenizer.json), "
                  "sentencepiece-unigram or sentencepiece-bpe "
                  "(write tokenizer.model)")
      ->required()
      ->check(CLI::IsMember({"bpe", "sentencepiece-unigram", "sentencepiece-bpe"}));
  cmd->add_option("--vocab", args->vocab, "vocabulary size")
      ->required()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--input", args->inputs, "training text files")->required();
  cmd->add_option("--out", args->out, "output folder")->required();
  cmd->add_option("--min-frequency", args->min_frequency, "bpe: smallest pair count merged")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--special", args->special,
                  "bpe: special tokens, given ids 0, 1, ... (default <|endoftext|>)");
  cmd->add_option("--character-coverage", args->character_coverage,
                  "sentencepiece: share of characters covered (1.0 for small alphabets)")
      ->check(CLI::Range(0.5, 1.0));
  cmd->add_flag("--json", args->json, "machine-readable summary");
  cmd->callback([args] { run_train(*args); });
}

}  // namespace

void add_tokenize_commands(CLI::App& app) {
  add_tokenize(app);
  add_tokenizer_train(app);
}

}  // namespace tessera::cli
