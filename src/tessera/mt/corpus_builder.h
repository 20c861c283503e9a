#pragma once
// `tessera mt build-corpus`: a multilingual parallel corpus from what Debian packages ship
// (DESIGN.md): the gettext catalogues under /usr/share/locale (English msgid -> translation),
// the iso-codes catalogues among them (language, country and script names), and World English
// Bible vs Reina-Valera 1909 verse pairs. Languages get NLLB codes; pairs are cleaned
// (corpus_cleaning.h), optionally checked with CLD2, de-duplicated, and split into
// train/dev/test by a hash of the English text, so one English sentence never appears in two
// splits (whatever the language). Layout written under `out`:
//   <split>/eng_Latn-<code>.tsv   one "english<TAB>translation" pair per line
//   counts.json, counts.tsv       pairs per language, split and source; rejections by reason
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tessera/mt/corpus_cleaning.h"

namespace tessera::mt {

struct CorpusBuildOptions {
  std::string out;
  std::string locale_dir = "/usr/share/locale";
  std::string sword_path = "/usr/share/sword";
  std::string iso_table = "/usr/share/iso-codes/json/iso_639-3.json";
  bool include_gettext = true, include_iso_codes = true, include_bible = true;
  bool language_id = false;                 // drop pairs CLD2 reliably places in another language
  int64_t min_pairs_per_language = 50;      // languages with fewer kept pairs are left out
  std::vector<std::string> only_languages;  // NLLB codes; empty: all
  double dev_fraction = 0.02, test_fraction = 0.02;
  CleaningRules rules;
  bool progress = false;
};

struct LanguageCounts {
  int64_t train = 0, dev = 0, test = 0;
  std::map<std::string, int64_t> by_source;  // "gettext", "iso-codes", "bible"
  int64_t total() const { return train + dev + test; }
};

struct CorpusReport {
  std::map<std::string, LanguageCounts> languages;  // NLLB code -> counts
  std::map<std::string, int64_t> rejected;          // reason -> pairs
  int64_t catalogues_read = 0, catalogues_skipped = 0;
};

CorpusReport build_parallel_corpus(const CorpusBuildOptions& options);

// The split of an English sentence: "train", "dev" or "test" (a mixed FNV-1a hash of its bytes).
std::string split_of(const std::string& english, double dev_fraction, double test_fraction);

// One direction's pairs as written by build_parallel_corpus.
struct ParallelPair {
  std::string english, other;
};
std::vector<ParallelPair> read_pair_file(const std::string& path);
// The language codes present in a corpus split folder (from its eng_Latn-<code>.tsv files).
std::vector<std::string> corpus_languages(const std::string& corpus_dir,
                                          const std::string& split = "train");

}  // namespace tessera::mt
