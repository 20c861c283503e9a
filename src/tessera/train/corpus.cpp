#include "tessera/train/corpus.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include <fmt/format.h>

#include "tessera/core/error.h"
#include "tessera/core/io/atomic_file.h"
#include "tessera/text/bpe_trainer.h"
#include "tessera/train/corpus_sources.h"
#include "tessera/train/data_build.h"
#include "tessera/train/data_hash.h"
#include "tessera/train/data_tokenizer.h"

namespace tessera::train {
namespace fs = std::filesystem;

namespace {

struct SourceSpec {
  const char* name;
  const char* title;
  std::vector<const char*> packages;
  const char* licence;
};

// The licence lines summarise each package's debian/copyright, which is copied in full into
// licenses/ beside the corpus.
const std::vector<SourceSpec>& source_specs() {
  static const std::vector<SourceSpec> specs = {
      {"web", "World English Bible (with Deuterocanon), SWORD module engWEB2015eb",
       {"sword-text-web"},
       "Public domain. \"World English Bible\" is a trademark of eBible.org: this corpus "
       "removes footnotes and headings, so its text is derived from, and is not itself, the "
       "World English Bible."},
      {"fortunes", "fortune cookie collections (fortune-mod)",
       {"fortunes-min", "fortunes"},
       "BSD-style licence of fortune-mod (The Regents of the University of California); some "
       "collections carry their own notices, kept in licenses/."},
      {"wordnet", "WordNet 3.0 synset glosses",
       {"wordnet-base"},
       "WordNet 3.0 licence (Princeton University): use, copy, modify and distribute freely "
       "with the copyright notice and disclaimer kept; see licenses/wordnet-base.copyright."},
  };
  return specs;
}

const SourceSpec& find_spec(const std::string& name) {
  for (const SourceSpec& spec : source_specs()) {
    if (name == spec.name) return spec;
  }
  throw bad_input("unknown corpus source \"{}\" (known: web, fortunes, wordnet)", name);
}

SourceDocuments read_source(const std::string& name, const CorpusSourcePaths& paths) {
  if (name == "web") return read_sword_ztext_bible(paths.bible);
  if (name == "fortunes") return read_fortunes(paths.fortunes);
  if (name == "wordnet") return read_wordnet_glosses(paths.wordnet);
  throw bad_input("unknown corpus source \"{}\"", name);
}

void write_atomically(const fs::path& path, std::string_view bytes) {
  io::AtomicFileWriter writer(path.string());
  writer.write(bytes.data(), bytes.size());
  writer.commit();
}

// Documents separated by one blank line, the file ending in a newline: `data build
// --paragraphs` reads the same documents back (cleaning removed blank lines inside them).
std::string join_documents(const std::vector<std::string_view>& documents) {
  size_t size = 0;
  for (std::string_view document : documents) size += document.size() + 2;
  std::string text;
  text.reserve(size);
  for (size_t i = 0; i < documents.size(); ++i) {
    if (i > 0) text += "\n";
    text += documents[i];
    text += "\n";
  }
  return text;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::vector<std::string> known_corpus_sources() {
  std::vector<std::string> names;
  for (const SourceSpec& spec : source_specs()) names.emplace_back(spec.name);
  return names;
}

CorpusReport build_default_corpus(const CorpusOptions& options) {
  TESSERA_CHECK_INPUT(!options.out.empty(), "no output folder given");
  TESSERA_CHECK_INPUT(!options.sources.empty(), "no corpus sources selected");
  TESSERA_CHECK_INPUT(options.valid_fraction > 0.0 && options.valid_fraction < 1.0,
                      "valid fraction must be in (0, 1), got {}", options.valid_fraction);
  TESSERA_CHECK_INPUT(options.vocab_size >= 512 && options.vocab_size <= 1 << 20,
                      "vocab size must be in [512, 1048576], got {}", options.vocab_size);
  for (size_t i = 0; i < options.sources.size(); ++i) {
    find_spec(options.sources[i]);
    for (size_t j = 0; j < i; ++j) {
      TESSERA_CHECK_INPUT(options.sources[i] != options.sources[j],
                          "corpus source \"{}\" is named twice", options.sources[i]);
    }
  }
  auto log = [&](const std::string& line) {
    if (options.show_progress) fmt::print(stderr, "data corpus: {}\n", line);
  };
  const fs::path out(options.out);
  std::error_code error;
  fs::create_directories(out, error);
  TESSERA_CHECK_INPUT(!error && fs::is_directory(out), "{}: cannot create folder: {}",
                      options.out, error.message());
  // corpus.json marks a finished corpus; remove it first so an interrupted rebuild is visible.
  fs::remove(out / "corpus.json", error);

  // 1. Read every source (their documents stay put from here on: the views below point in).
  auto start = std::chrono::steady_clock::now();
  CorpusReport report;
  std::vector<SourceDocuments> texts;
  texts.reserve(options.sources.size());
  for (const std::string& name : options.sources) {
    const SourceSpec& spec = find_spec(name);
    texts.push_back(read_source(name, options.paths));
    CorpusSourceSummary summary;
    summary.name = spec.name;
    summary.title = spec.title;
    summary.licence = spec.licence;
    for (const char* package : spec.packages) {
      summary.packages.push_back(
          {package, installed_package_version(options.paths.dpkg_status, package)
                        .value_or("not installed")});
    }
    summary.files = texts.back().files;
    summary.raw_bytes = texts.back().raw_bytes;
    summary.dropped_documents = texts.back().dropped_documents;
    report.sources.push_back(std::move(summary));
    log(fmt::format("read {} ({} documents)", name, texts.back().documents.size()));
  }

  // 2. De-duplicate exactly (first occurrence wins) and split by a seeded hash of the text.
  std::unordered_set<std::string_view> seen;
  std::vector<std::string_view> train_documents, valid_documents;
  for (size_t s = 0; s < texts.size(); ++s) {
    CorpusSourceSummary& summary = report.sources[s];
    for (const std::string& document : texts[s].documents) {
      if (!seen.insert(document).second) {
        ++summary.duplicate_documents;
        continue;
      }
      const int64_t bytes = static_cast<int64_t>(document.size());
      ++summary.documents;
      summary.bytes += bytes;
      if (hash_to_unit(seeded_hash64(document, options.seed)) < options.valid_fraction) {
        valid_documents.push_back(document);
        ++summary.valid_documents;
        summary.valid_bytes += bytes;
      } else {
        train_documents.push_back(document);
        ++summary.train_documents;
        summary.train_bytes += bytes;
      }
    }
    report.train_bytes += summary.train_bytes;
    report.valid_bytes += summary.valid_bytes;
  }
  const int64_t total_bytes = report.train_bytes + report.valid_bytes;
  TESSERA_CHECK_INPUT(total_bytes >= options.min_bytes,
                      "the corpus holds {} bytes, below the minimum of {} (are the source "
                      "packages installed? run scripts/setup.sh)",
                      total_bytes, options.min_bytes);
  TESSERA_CHECK_INPUT(!valid_documents.empty() && !train_documents.empty(),
                      "the split left {} train and {} valid documents; both need some",
                      train_documents.size(), valid_documents.size());
  write_atomically(out / "train.txt", join_documents(train_documents));
  write_atomically(out / "valid.txt", join_documents(valid_documents));
  report.seconds_read = seconds_since(start);
  log(fmt::format("wrote train.txt ({} bytes) and valid.txt ({} bytes)", report.train_bytes,
                  report.valid_bytes));

  // 3. Train the tokenizer on the train split only, so valid perplexity is honest.
  start = std::chrono::steady_clock::now();
  text::BpeTrainOptions bpe;
  bpe.input_files = {(out / "train.txt").string()};
  bpe.vocab_size = options.vocab_size;
  bpe.special_tokens = {"<|endoftext|>"};
  text::train_and_save_byte_level_bpe(bpe, options.out);
  const std::string tokenizer_path = (out / "tokenizer.json").string();
  report.tokenizer_sha256 = sha256_file_hex(tokenizer_path);
  report.seconds_tokenizer = seconds_since(start);
  log(fmt::format("trained a {}-token byte-level BPE tokenizer", options.vocab_size));

  // 4. Token shards for both splits, each document ended by <|endoftext|>.
  start = std::chrono::steady_clock::now();
  TokenEncoder encoder = load_token_encoder(tokenizer_path);
  encoder.path = "../tokenizer.json";  // relative to each split's folder: the corpus can move
  TESSERA_CHECK(encoder.eos_token_id.has_value(), "{}: trained tokenizer lacks <|endoftext|>",
                tokenizer_path);
  const nlohmann::json creation = {{"tool", "tessera data corpus"},
                                   {"sources", options.sources},
                                   {"valid_fraction", options.valid_fraction},
                                   {"seed", options.seed},
                                   {"vocab_size", options.vocab_size},
                                   {"append_eos", true}};
  SplitOptions split;
  split.shard_tokens = options.shard_tokens;
  split.append_eos = true;
  split.creation = creation;
  split.folder = (out / "train").string();
  split.split = "train";
  report.train = write_token_split(train_documents, encoder, split);
  split.folder = (out / "valid").string();
  split.split = "valid";
  report.valid = write_token_split(valid_documents, encoder, split);
  report.seconds_encode = seconds_since(start);
  log(fmt::format("encoded {} train and {} valid tokens", report.train.num_tokens,
                  report.valid.num_tokens));

  // 5. Provenance: SOURCES.md, the packages' copyright files, and corpus.json last.
  fs::create_directories(out / "licenses");
  for (const CorpusSourceSummary& summary : report.sources) {
    for (const CorpusPackage& package : summary.packages) {
      const fs::path copyright = fs::path(options.paths.package_docs) / package.name / "copyright";
      std::ifstream in(copyright, std::ios::binary);
      if (!in) continue;  // SOURCES.md says which ones were found
      std::ostringstream bytes;
      bytes << in.rdbuf();
      write_atomically(out / "licenses" / (package.name + ".copyright"), bytes.str());
    }
  }
  write_atomically(out / "SOURCES.md", corpus_sources_markdown(report, options));
  write_atomically(out / "corpus.json", corpus_manifest(report, options).dump(2) + "\n");
  return report;
}

}  // namespace tessera::train
