// `tessera data build|corpus|check`: token datasets from text files, the default English
// corpus, and a full validation pass over a dataset folder.
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tessera/core/error.h"
#include "tessera/core/parallel.h"
#include "tessera/train/corpus.h"
#include "tessera/train/data_build.h"
#include "tessera/train/data_dataset.h"
#include "tessera/train/data_tokenizer.h"

namespace tessera::cli {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

json split_summary(const train::DatasetIndex& index, const std::string& folder) {
  return {{"split", index.split},
          {"folder", folder},
          {"tokens", index.num_tokens},
          {"documents", index.num_documents},
          {"shards", index.shards.size()},
          {"vocab_size", index.vocab_size},
          {"eos_token_id", index.eos_token_id ? json(*index.eos_token_id) : json(nullptr)}};
}

// `--threads` is also accepted after the subcommand (`tessera data build --threads 2 ...`).
void add_threads_option(CLI::App* cmd) {
  cmd->add_option("--threads", global_options().threads, "worker threads (0: all cores)")
      ->check(CLI::NonNegativeNumber);
}

void print_split(const json& split) {
  fmt::print("{}: {} tokens, {} documents, {} shard(s) in {}\n", split["split"].get<std::string>(),
             split["tokens"].get<int64_t>(), split["documents"].get<int64_t>(),
             split["shards"].get<size_t>(), split["folder"].get<std::string>());
}

void add_build_command(CLI::App& data) {
  struct Options {
    std::string tokenizer;
    train::DataBuildOptions build;
    bool paragraphs = false;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  auto* cmd = data.add_subcommand(
      "build", "Tokenize text files into uint32 shards (train/ and, with --valid-fraction, valid/)");
  cmd->add_option("--tokenizer", options->tokenizer,
                  "tokenizer.json, .tiktoken, GPT-2 folder or SentencePiece .model")
      ->required();
  cmd->add_option("--input", options->build.inputs, "text files (UTF-8)")->required()->expected(1, -1);
  cmd->add_option("--out", options->build.out, "output folder")->required();
  cmd->add_option("--shard-tokens", options->build.shard_tokens, "tokens per shard file")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--valid-fraction", options->build.valid_fraction,
                  "fraction of documents held out in valid/ (by a seeded hash of their text)")
      ->check(CLI::Range(0.0, 0.999999))
      ->capture_default_str();
  cmd->add_option("--seed", options->build.seed, "seed of the train/valid split")->capture_default_str();
  cmd->add_flag("--append-eos", options->build.append_eos,
                "end every document with the tokenizer's end-of-text id");
  cmd->add_flag("--paragraphs", options->paragraphs,
                "documents are blank-line separated paragraphs (default: one per line)");
  cmd->add_flag("--json", options->json, "machine-readable summary on stdout");
  add_threads_option(cmd);
  cmd->callback([options] {
    set_num_threads(global_options().threads);
    options->build.mode =
        options->paragraphs ? train::DocumentMode::Paragraphs : train::DocumentMode::Lines;
    options->build.show_progress = !options->json;
    const train::TokenEncoder encoder = train::load_token_encoder(options->tokenizer);
    const train::DataBuildReport report = train::build_token_dataset(options->build, encoder);
    json summary = {{"input_bytes", report.input_bytes},
                    {"seconds", report.seconds},
                    {"threads", num_threads()},
                    {"megabytes_per_second", report.input_bytes / 1e6 / std::max(report.seconds, 1e-9)},
                    {"splits", json::array()}};
    summary["splits"].push_back(
        split_summary(report.train, (fs::path(options->build.out) / "train").string()));
    if (report.valid) {
      summary["splits"].push_back(
          split_summary(*report.valid, (fs::path(options->build.out) / "valid").string()));
    }
    if (options->json) {
      fmt::print("{}\n", summary.dump(2));
      return;
    }
    for (const json& split : summary["splits"]) print_split(split);
    fmt::print("{} input bytes in {:.2f} s ({:.1f} MB/s, {} threads)\n", report.input_bytes,
               report.seconds, summary["megabytes_per_second"].get<double>(), num_threads());
  });
}

void add_corpus_command(CLI::App& data) {
  struct Options {
    train::CorpusOptions corpus;
    std::vector<std::string> sources;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  auto* cmd = data.add_subcommand(
      "corpus", "Build the default English corpus from Debian packages' text, with tokenizer "
                "and train/valid token datasets");
  train::CorpusOptions& corpus = options->corpus;
  cmd->add_option("--out", corpus.out, "output folder")->required();
  cmd->add_option("--vocab", corpus.vocab_size, "tokenizer vocabulary size")
      ->check(CLI::Range(512, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--valid-fraction", corpus.valid_fraction, "fraction of documents held out")
      ->check(CLI::Range(0.000001, 0.5))
      ->capture_default_str();
  cmd->add_option("--seed", corpus.seed, "seed of the train/valid split")->capture_default_str();
  cmd->add_option("--sources", options->sources, "sources in corpus order (web, fortunes, wordnet)")
      ->delimiter(',');
  cmd->add_option("--min-bytes", corpus.min_bytes, "refuse a corpus smaller than this")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--shard-tokens", corpus.shard_tokens, "tokens per shard file")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--fortunes-dir", corpus.paths.fortunes, "fortune files")->capture_default_str();
  cmd->add_option("--wordnet-dir", corpus.paths.wordnet, "WordNet data.* files")->capture_default_str();
  cmd->add_option("--bible-dir", corpus.paths.bible, "SWORD zText module folder")->capture_default_str();
  cmd->add_flag("--json", options->json, "machine-readable summary on stdout");
  add_threads_option(cmd);
  cmd->callback([options] {
    set_num_threads(global_options().threads);
    train::CorpusOptions corpus = options->corpus;
    if (!options->sources.empty()) corpus.sources = options->sources;
    corpus.show_progress = !options->json;
    const train::CorpusReport report = train::build_default_corpus(corpus);
    json summary = train::corpus_manifest(report, corpus);
    summary["seconds"] = {{"read", report.seconds_read},
                          {"tokenizer", report.seconds_tokenizer},
                          {"encode", report.seconds_encode}};
    summary["threads"] = num_threads();
    if (options->json) {
      fmt::print("{}\n", summary.dump(2));
      return;
    }
    for (const train::CorpusSourceSummary& source : report.sources) {
      fmt::print("{:<9} {:>7} documents {:>10} bytes ({} train / {} valid)\n", source.name,
                 source.documents, source.bytes, source.train_bytes, source.valid_bytes);
    }
    fmt::print("train: {} tokens, valid: {} tokens, vocab {}\n", report.train.num_tokens,
               report.valid.num_tokens, corpus.vocab_size);
    fmt::print("took {:.1f} s (read {:.1f}, tokenizer {:.1f}, encode {:.1f}) on {} threads; "
               "see {}/SOURCES.md\n",
               report.seconds_read + report.seconds_tokenizer + report.seconds_encode,
               report.seconds_read, report.seconds_tokenizer, report.seconds_encode,
               num_threads(), corpus.out);
  });
}

void add_check_command(CLI::App& data) {
  auto folder = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto* cmd = data.add_subcommand(
      "check", "Validate a dataset folder: index, shard sizes, every id below vocab_size");
  cmd->add_option("--data", *folder, "dataset folder (with train/ and valid/, or one split)")
      ->required();
  cmd->add_flag("--json", *as_json, "machine-readable summary on stdout");
  cmd->callback([folder, as_json] {
    std::vector<std::string> split_folders;
    for (const char* split : {"train", "valid"}) {
      if (fs::exists(fs::path(*folder) / split / train::kIndexFileName)) {
        split_folders.push_back((fs::path(*folder) / split).string());
      }
    }
    if (split_folders.empty()) split_folders.push_back(*folder);  // a single split folder
    json summary = json::array();
    for (const std::string& split_folder : split_folders) {
      const train::TokenDataset dataset = train::TokenDataset::open(split_folder);
      dataset.check_token_ids();
      json split = split_summary(dataset.index(), split_folder);
      split["tokenizer"] = dataset.tokenizer_path();
      summary.push_back(split);
    }
    if (*as_json) {
      fmt::print("{}\n", summary.dump(2));
      return;
    }
    for (const json& split : summary) print_split(split);
    fmt::print("ok: every shard matches the index and every id is below vocab_size\n");
  });
}

}  // namespace

void add_data_commands(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Token datasets and the default corpus");
  data->require_subcommand(1);
  add_build_command(*data);
  add_corpus_command(*data);
  add_check_command(*data);
}

}  // namespace tessera::cli
