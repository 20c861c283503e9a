// The corpus folder's provenance files: SOURCES.md for people, corpus.json for programs, and
// package versions from dpkg's status file.
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "tessera/train/corpus.h"
#include "tessera/train/data_hash.h"

namespace tessera::train {
namespace fs = std::filesystem;
using nlohmann::json;

std::optional<std::string> installed_package_version(const std::string& dpkg_status,
                                                     const std::string& package) {
  std::ifstream in(dpkg_status);
  if (!in) return std::nullopt;
  // Paragraphs of "Field: value" lines separated by blank lines; multi-arch packages may
  // appear once per architecture with the same version.
  std::string line, name, version, status;
  auto matches = [&] {
    return name == package && status.find("installed") != std::string::npos &&
           status.find("not-installed") == std::string::npos && !version.empty();
  };
  while (std::getline(in, line)) {
    if (line.empty()) {
      if (matches()) return version;
      name.clear();
      version.clear();
      status.clear();
      continue;
    }
    if (line.starts_with("Package: ")) name = line.substr(9);
    else if (line.starts_with("Version: ")) version = line.substr(9);
    else if (line.starts_with("Status: ")) status = line.substr(8);
  }
  if (matches()) return version;
  return std::nullopt;
}

namespace {

std::string megabytes(int64_t bytes) { return fmt::format("{:.2f} MB", bytes / 1e6); }

}  // namespace

std::string corpus_sources_markdown(const CorpusReport& report, const CorpusOptions& options) {
  std::string md;
  md += "# Default English corpus: sources\n\n";
  md += "Built by `tessera data corpus` from text that Debian packages ship. The same package\n"
        "versions and options give byte-identical files.\n\n";
  md += fmt::format(
      "- documents: {} train / {} valid ({} train / {} valid bytes, {} in all)\n",
      report.train.num_documents, report.valid.num_documents, report.train_bytes,
      report.valid_bytes, megabytes(report.train_bytes + report.valid_bytes));
  md += fmt::format("- tokens: {} train / {} valid, byte-level BPE with {} tokens "
                    "(`tokenizer.json`, sha256 {})\n",
                    report.train.num_tokens, report.valid.num_tokens, options.vocab_size,
                    report.tokenizer_sha256);
  md += fmt::format("- split: a document goes to valid when a seeded 64-bit hash of its bytes "
                    "(seed {}) falls below {} of the range\n\n",
                    options.seed, options.valid_fraction);

  md += "| source | Debian packages (version) | licence | documents | bytes | train bytes | "
        "valid bytes |\n";
  md += "| --- | --- | --- | ---: | ---: | ---: | ---: |\n";
  for (const CorpusSourceSummary& source : report.sources) {
    std::string packages;
    for (const CorpusPackage& package : source.packages) {
      if (!packages.empty()) packages += ", ";
      packages += fmt::format("`{}` ({})", package.name, package.version);
    }
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", source.name, packages,
                      source.licence, source.documents, source.bytes, source.train_bytes,
                      source.valid_bytes);
  }
  md += "\n## Details\n";
  for (const CorpusSourceSummary& source : report.sources) {
    md += fmt::format("\n### {}: {}\n\n", source.name, source.title);
    md += fmt::format("- read {} bytes ({}) from {} file(s):\n", source.raw_bytes,
                      source.name == "web" ? "after zlib decompression" : "as stored",
                      source.files.size());
    for (const std::string& file : source.files) md += fmt::format("  - `{}`\n", file);
    md += fmt::format("- kept {} documents; dropped {} (invalid UTF-8 or empty after cleaning) "
                      "and {} exact duplicates of earlier documents\n",
                      source.documents, source.dropped_documents, source.duplicate_documents);
    for (const CorpusPackage& package : source.packages) {
      const fs::path copyright =
          fs::path(options.paths.package_docs) / package.name / "copyright";
      md += fmt::format("- `{}`: {}\n", package.name,
                        fs::exists(copyright)
                            ? fmt::format("copyright file copied to `licenses/{}.copyright`",
                                          package.name)
                            : fmt::format("no copyright file at `{}`", copyright.string()));
    }
  }
  md += "\n## Cleaning rules\n\n"
        "1. Documents: one per fortune (files in name order, `.dat` and `.u8` skipped), one per\n"
        "   WordNet synset (\"lemma, lemma: gloss\", files data.adj, data.adv, data.noun,\n"
        "   data.verb), one per Bible chapter (OSIS markup removed, footnotes and headings\n"
        "   dropped, paragraphs and poetry lines kept as line breaks).\n"
        "2. Documents that are not valid UTF-8 are dropped; backspace overstrikes keep the\n"
        "   visible character; other control characters except tab and newline are removed;\n"
        "   trailing whitespace and blank lines are removed.\n"
        "3. Exact duplicates of an earlier document are dropped (sources in the order above).\n"
        "4. `train.txt` and `valid.txt` hold the documents separated by blank lines; the token\n"
        "   datasets in `train/` and `valid/` end every document with `<|endoftext|>`.\n";
  return md;
}

json corpus_manifest(const CorpusReport& report, const CorpusOptions& options) {
  json sources = json::array();
  for (const CorpusSourceSummary& source : report.sources) {
    json packages = json::array();
    for (const CorpusPackage& package : source.packages) {
      packages.push_back({{"name", package.name}, {"version", package.version}});
    }
    sources.push_back({{"name", source.name},
                       {"title", source.title},
                       {"packages", packages},
                       {"licence", source.licence},
                       {"files", source.files},
                       {"raw_bytes", source.raw_bytes},
                       {"documents", source.documents},
                       {"bytes", source.bytes},
                       {"dropped_documents", source.dropped_documents},
                       {"duplicate_documents", source.duplicate_documents},
                       {"train_documents", source.train_documents},
                       {"train_bytes", source.train_bytes},
                       {"valid_documents", source.valid_documents},
                       {"valid_bytes", source.valid_bytes}});
  }
  const fs::path out(options.out);
  return json{{"format", "tessera-corpus"},
              {"version", 1},
              {"sources", sources},
              {"valid_fraction", options.valid_fraction},
              {"seed", options.seed},
              {"vocab_size", options.vocab_size},
              {"tokenizer", {{"file", "tokenizer.json"}, {"sha256", report.tokenizer_sha256}}},
              {"text",
               {{"train", {{"file", "train.txt"},
                           {"document_bytes", report.train_bytes},
                           {"sha256", sha256_file_hex((out / "train.txt").string())}}},
                {"valid", {{"file", "valid.txt"},
                           {"document_bytes", report.valid_bytes},
                           {"sha256", sha256_file_hex((out / "valid.txt").string())}}}}},
              {"datasets",
               {{"train", {{"folder", "train"},
                           {"tokens", report.train.num_tokens},
                           {"documents", report.train.num_documents}}},
                {"valid", {{"folder", "valid"},
                           {"tokens", report.valid.num_tokens},
                           {"documents", report.valid.num_documents}}}}}};
}

}  // namespace tessera::train
