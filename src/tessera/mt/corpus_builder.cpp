#include "tessera/mt/corpus_builder.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "tessera/core/error.h"
#include "tessera/core/io/atomic_file.h"
#include "tessera/mt/bible_pairs.h"
#include "tessera/mt/gettext_catalog.h"
#include "tessera/mt/language_id.h"
#include "tessera/mt/nllb_languages.h"

namespace tessera::mt {

namespace fs = std::filesystem;

namespace {

struct Candidate {
  std::string english, other, source;
};

std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string one_line(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return out;
}

}  // namespace

std::string split_of(const std::string& english, double dev_fraction, double test_fraction) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : english) {
    h ^= c;
    h *= 1099511628211ull;
  }
  // FNV-1a's high bits barely move with the last bytes: mix them (splitmix64's finaliser).
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  double u = static_cast<double>(h >> 11) / static_cast<double>(1ull << 53);
  if (u < test_fraction) return "test";
  if (u < test_fraction + dev_fraction) return "dev";
  return "train";
}

CorpusReport build_parallel_corpus(const CorpusBuildOptions& o) {
  TESSERA_CHECK_INPUT(!o.out.empty(), "build-corpus: --out is required");
  TESSERA_CHECK_INPUT(
      o.dev_fraction >= 0 && o.test_fraction >= 0 && o.dev_fraction + o.test_fraction < 1,
      "dev and test fractions must be non-negative and sum below 1");
  CorpusReport report;
  std::map<std::string, std::vector<Candidate>> by_language;
  std::set<std::string> wanted(o.only_languages.begin(), o.only_languages.end());
  auto keep_language = [&](const std::string& code) {
    return wanted.empty() || wanted.count(code);
  };

  if (o.include_gettext || o.include_iso_codes) {
    TESSERA_CHECK_INPUT(fs::is_directory(o.locale_dir),
                        "{}: no locale folder with gettext catalogues", o.locale_dir);
    for (const fs::path& locale : sorted_entries(o.locale_dir)) {
      std::optional<std::string> code =
          nllb_code_for_locale(locale.filename().string(), o.iso_table);
      if (!code || !keep_language(*code)) continue;
      for (const fs::path& file : sorted_entries(locale / "LC_MESSAGES")) {
        if (file.extension() != ".mo") continue;
        const bool iso = file.stem().string().rfind("iso_", 0) == 0;
        if ((iso && !o.include_iso_codes) || (!iso && !o.include_gettext)) continue;
        std::ifstream in(file, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        try {
          std::string charset = lower(mo_charset(bytes, file.string()));
          if (charset != "utf-8" && charset != "utf8") {
            ++report.catalogues_skipped;
            continue;
          }
          for (CatalogMessage& m : parse_mo(bytes, file.string()))
            by_language[*code].push_back(
                {std::move(m.source), std::move(m.translation), iso ? "iso-codes" : "gettext"});
          ++report.catalogues_read;
        } catch (const Error&) {
          ++report.catalogues_skipped;  // a damaged catalogue costs its own pairs only
        }
      }
      if (o.progress)
        fmt::print(stderr, "\rbuild-corpus: read {} catalogues", report.catalogues_read);
    }
    if (o.progress) fmt::print(stderr, "\n");
  }
  if (o.include_bible && keep_language("spa_Latn")) {
    for (VersePair& v : read_verse_pairs(o.sword_path, "engWEB2015eb", "spaRV1909eb"))
      by_language["spa_Latn"].push_back({std::move(v.first), std::move(v.second), "bible"});
  }

  fs::create_directories(o.out);
  for (const char* split : {"train", "dev", "test"}) {
    fs::remove_all(fs::path(o.out) / split);
    fs::create_directories(fs::path(o.out) / split);
  }
  for (auto& [code, candidates] : by_language) {
    const std::string expected = o.language_id ? cld2_code_for(code) : "";
    std::unordered_set<std::string> seen;
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> splits;
    LanguageCounts counts;
    for (const Candidate& c : candidates) {
      CleaningRules rules = o.rules;
      if (c.source == "iso-codes") rules.min_source_words = 1;  // names, not sentences
      if (auto reason = reject_reason(c.english, c.other, rules)) {
        ++report.rejected[*reason];
        continue;
      }
      std::string english = clean_message(c.english), other = clean_message(c.other);
      if (!seen.insert(english).second) {
        ++report.rejected["duplicate"];
        continue;
      }
      if (o.language_id && c.source != "iso-codes" && !language_matches(other, expected)) {
        ++report.rejected["language-id"];
        continue;
      }
      std::string split = split_of(english, o.dev_fraction, o.test_fraction);
      splits[split].emplace_back(one_line(english), one_line(other));
      ++counts.by_source[c.source];
    }
    counts.train = static_cast<int64_t>(splits["train"].size());
    counts.dev = static_cast<int64_t>(splits["dev"].size());
    counts.test = static_cast<int64_t>(splits["test"].size());
    if (counts.total() < o.min_pairs_per_language) {
      report.rejected["small-language"] += counts.total();
      continue;
    }
    for (auto& [split, pairs] : splits) {
      io::AtomicFileWriter w((fs::path(o.out) / split / ("eng_Latn-" + code + ".tsv")).string());
      std::string buffer;
      for (auto& [e, x] : pairs) buffer += e + "\t" + x + "\n";
      w.write(buffer);
      w.commit();
    }
    report.languages[code] = counts;
  }

  nlohmann::json j;
  j["languages"] = nlohmann::json::object();
  for (const auto& [code, c] : report.languages)
    j["languages"][code] = {
        {"train", c.train}, {"dev", c.dev}, {"test", c.test}, {"sources", c.by_source}};
  j["rejected"] = report.rejected;
  j["catalogues_read"] = report.catalogues_read;
  j["catalogues_skipped"] = report.catalogues_skipped;
  j["dev_fraction"] = o.dev_fraction;
  j["test_fraction"] = o.test_fraction;
  j["language_id"] = o.language_id;
  {
    io::AtomicFileWriter w((fs::path(o.out) / "counts.json").string());
    w.write(j.dump(2) + "\n");
    w.commit();
  }
  std::string table = "language\ttrain\tdev\ttest\tgettext\tiso-codes\tbible\n";
  for (const auto& [code, c] : report.languages) {
    auto get = [&](const char* s) {
      auto it = c.by_source.find(s);
      return it == c.by_source.end() ? 0 : it->second;
    };
    table += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\n", code, c.train, c.dev, c.test,
                         get("gettext"), get("iso-codes"), get("bible"));
  }
  io::AtomicFileWriter w((fs::path(o.out) / "counts.tsv").string());
  w.write(table);
  w.commit();
  return report;
}

std::vector<ParallelPair> read_pair_file(const std::string& path) {
  std::ifstream in(path);
  TESSERA_CHECK_INPUT(in.good(), "{}: cannot open", path);
  std::vector<ParallelPair> pairs;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    size_t tab = line.find('\t');
    TESSERA_CHECK_INPUT(tab != std::string::npos, "{}:{}: expected \"english<TAB>translation\"",
                        path, number);
    pairs.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return pairs;
}

std::vector<std::string> corpus_languages(const std::string& corpus_dir, const std::string& split) {
  fs::path dir = fs::path(corpus_dir) / split;
  TESSERA_CHECK_INPUT(fs::is_directory(dir), "{}: no {} folder (run tessera mt build-corpus)",
                      corpus_dir, split);
  std::vector<std::string> codes;
  for (const fs::path& p : sorted_entries(dir)) {
    std::string name = p.filename().string();
    if (p.extension() == ".tsv" && name.rfind("eng_Latn-", 0) == 0)
      codes.push_back(name.substr(9, name.size() - 13));
  }
  return codes;
}

}  // namespace tessera::mt
