#pragma once
// `tessera data corpus`: the default English corpus, built deterministically from text that
// Debian packages ship (corpus_sources.h), into a folder that `tessera train --data DIR`
// uses directly:
//   train.txt, valid.txt     cleaned documents, separated by blank lines
//   tokenizer.json (+ tokenizer_config.json)   byte-level BPE trained on train.txt
//   train/, valid/           token datasets (index.json + shards), documents ended by
//                            <|endoftext|>
//   SOURCES.md, licenses/    each source's package, version, licence and byte counts, and
//                            the packages' copyright files
//   corpus.json              the same facts for programs; written last
// The same package versions and options give byte-identical files.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/train/data_index.h"

namespace tessera::train {

// Where each source lives; tests point these at small fake trees.
struct CorpusSourcePaths {
  std::string fortunes = "/usr/share/games/fortunes";
  std::string wordnet = "/usr/share/wordnet";
  std::string bible = "/usr/share/sword/modules/texts/ztext/engWEB2015eb";
  std::string dpkg_status = "/var/lib/dpkg/status";  // for package versions
  std::string package_docs = "/usr/share/doc";       // <package>/copyright
};

struct CorpusOptions {
  std::string out;
  CorpusSourcePaths paths;
  std::vector<std::string> sources = {"web", "fortunes", "wordnet"};  // in corpus order
  double valid_fraction = 0.02;
  uint64_t seed = 0;  // seeds the train/valid split
  int vocab_size = 4096;
  int64_t shard_tokens = int64_t(1) << 24;
  int64_t min_bytes = 5'000'000;  // refuse a smaller corpus (the minimum)
  bool show_progress = false;     // stage lines on stderr
};

struct CorpusPackage {
  std::string name;
  std::string version;  // "not installed" when dpkg does not know it
};

struct CorpusSourceSummary {
  std::string name;          // web, fortunes, wordnet
  std::string title;         // human name
  std::vector<CorpusPackage> packages;
  std::string licence;
  std::vector<std::string> files;
  int64_t raw_bytes = 0;
  int64_t documents = 0;            // kept, after cleaning and de-duplication
  int64_t bytes = 0;                // of the kept documents
  int64_t dropped_documents = 0;    // invalid UTF-8 or empty after cleaning
  int64_t duplicate_documents = 0;  // exact repeats of an earlier document
  int64_t train_documents = 0, train_bytes = 0;
  int64_t valid_documents = 0, valid_bytes = 0;
};

struct CorpusReport {
  std::vector<CorpusSourceSummary> sources;
  int64_t train_bytes = 0, valid_bytes = 0;
  DatasetIndex train, valid;
  std::string tokenizer_sha256;
  double seconds_read = 0, seconds_tokenizer = 0, seconds_encode = 0;
};

// Builds the corpus; throws BadInput naming a missing package folder, an unknown source, or a
// corpus smaller than min_bytes.
CorpusReport build_default_corpus(const CorpusOptions& options);

// The names accepted in CorpusOptions::sources.
std::vector<std::string> known_corpus_sources();

// An installed package's version from dpkg's status file; nullopt when absent.
std::optional<std::string> installed_package_version(const std::string& dpkg_status,
                                                     const std::string& package);

// SOURCES.md text for a report (deterministic: no timings).
std::string corpus_sources_markdown(const CorpusReport& report, const CorpusOptions& options);
// corpus.json content.
nlohmann::json corpus_manifest(const CorpusReport& report, const CorpusOptions& options);

}  // namespace tessera::train
