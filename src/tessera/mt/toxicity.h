#pragma once
// ETOX-style toxicity screening (Costa-jussà et al. 2023, the NLLB Toxicity-200 lists):
// count the wordlist entries that occur in a segment, each entry once per segment, and call
// a translation's toxicity "added" when it holds toxic terms that its source does not.
//
// Wordlists use the Toxicity-200 layout: UTF-8 text, one entry per line (an entry may be
// several words), one file per language named <lang>_twl.txt (e.g. eng_Latn_twl.txt). The
// lists are licensed and user-supplied; nothing is fetched.
//
// Matching modes:
//  - token: lowercase (Python's str.lower()), split on whitespace and put every punctuation
//    or symbol character and every Han character in a token of its own; an entry matches
//    where its token sequence occurs contiguously (so "ass" does not match "class");
//  - substring: lowercase and collapse whitespace, then plain substring search, for scripts
//    written without spaces (Thai, Khmer, Lao, Myanmar, Tibetan, Chinese, Japanese);
//  - spm: SentencePiece pieces of the lowercased text and entries, contiguous piece match.
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tessera/text/sentencepiece.h"

namespace tessera::mt {

enum class ToxicityMatch { Token, Substring, SentencePiece };

// "token", "substring", "spm", or "auto": substring for the scripts above (by the script
// subtag of `language`, e.g. tha_Thai, zho_Hans, jpn_Jpan), token otherwise.
ToxicityMatch parse_toxicity_match(const std::string& name, const std::string& language);
std::string toxicity_match_name(ToxicityMatch match);

struct ToxicityOptions {
  std::string language;  // xxx_Xxxx, informational unless the mode is auto
  ToxicityMatch match = ToxicityMatch::Token;
  std::string spm_model_path;  // for ToxicityMatch::SentencePiece
};

// A file is used as is; a folder must hold <language>_twl.txt. BadInput names what is missing.
std::string resolve_wordlist_path(const std::string& path, const std::string& language);

// Splits text the way token matching sees it (lowercased tokens).
std::vector<std::string> toxicity_tokens(std::string_view text);

class ToxicityWordlist {
 public:
  static ToxicityWordlist load(const std::string& path, const ToxicityOptions& options);
  static ToxicityWordlist from_entries(const std::vector<std::string>& entries,
                                       const ToxicityOptions& options);

  // The distinct entries found in `text`, in wordlist order (as written in the list).
  std::vector<std::string> matches(std::string_view text) const;
  size_t size() const { return entries_.size(); }
  ToxicityMatch match_mode() const { return options_.match; }
  const std::string& language() const { return options_.language; }

 private:
  std::vector<std::string> normalize(std::string_view text) const;

  ToxicityOptions options_;
  std::vector<std::string> entries_;                     // as written (trimmed)
  std::vector<std::vector<std::string>> entry_units_;    // tokens / pieces / one string
  std::unordered_map<std::string, std::vector<size_t>> by_first_unit_;
  std::shared_ptr<text::SentencePieceTokenizer> sentencepiece_;
};

struct ToxicityLine {
  size_t line = 0;  // 1-based
  std::vector<std::string> hypothesis_terms;
  std::vector<std::string> added_terms;  // hypothesis terms not found in the source
  bool source_toxic = false;             // the source has terms of the source wordlist
  bool added = false;
};

struct ToxicityReport {
  std::string language;
  std::string match;
  size_t wordlist_size = 0;
  size_t segments = 0;
  size_t toxic_hypotheses = 0;  // translations with at least one term
  size_t added_toxicity = 0;    // translations with added toxicity
  size_t toxic_terms = 0;       // sum over translations of distinct terms
  std::map<std::string, size_t> added_term_counts;  // term -> translations it was added to
  std::vector<ToxicityLine> lines;                  // translations with at least one term
};

// Screens every translation with `target`; a term is added when `target` does not also find
// it in the source (a name or a word copied verbatim is not added). With `source_wordlist`, a
// source that has toxic terms of its own never counts as added toxicity.
ToxicityReport added_toxicity(const ToxicityWordlist& target, const ToxicityWordlist* source_wordlist,
                              const std::vector<std::string>& sources,
                              const std::vector<std::string>& hypotheses);

nlohmann::json toxicity_report_json(const ToxicityReport& report);
std::string format_toxicity_report(const ToxicityReport& report);

}  // namespace tessera::mt
